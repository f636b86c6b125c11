"""The emulator's offline speech engine (importing this package loads no model).

``models`` (pinned, sha256-verified Whisper weights) <- ``engine`` (:class:`SpeechEngine`) with
``decoding`` (one bounded pass per decode) and ``textnorm`` (scripts, Simplified Chinese, loops);
``recognizer`` (voice activity -> sentences, interim and final); ``diarize`` (speakers);
``codecs`` (decoding the five stream formats).
"""
