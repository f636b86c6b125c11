"""I/O against a Tingwu endpoint, built on :mod:`tingwu_nb.contract`.

``auth`` (ACS3 signing), ``tasks`` / ``taskinfo`` / ``ratelimit`` / ``httpcheck`` (the REST
client: CreateTask, GetTaskInfo, retries, clear errors), ``download`` (every result file at
once, expired links renewed), ``phrases`` (hot-word lists), ``callbacks`` (a local receiver
for progressive callbacks), ``stream`` (the WebSocket driver for the join URL), ``audio`` /
``audiofile`` / ``audiotimeline`` / ``bitstream`` / ``pacing`` (probe, decode, convert,
encode and pace the audio).
"""
