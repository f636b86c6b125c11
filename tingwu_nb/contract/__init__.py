"""The Tingwu contract itself, pure: no asyncio, httpx, websockets or pandas here.

``events`` (the one event vocabulary) <- ``codec`` (wire JSON <-> events) <- ``protocol``
(sans-I/O client and server sessions, one ``TRANSITIONS`` table); ``params`` (the typed
CreateTask model, its rules and wire JSON). Everything above this layer speaks these types.
"""
