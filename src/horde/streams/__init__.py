"""Streamed replies: one message or request answered by many chunks, timed as one thing.

:class:`StreamMeter` times a stream for the transports (``ws.stream``, ``sio.stream``,
``http.stream``, ``sse.stream``); :class:`StreamResult` is what the scenario gets back.
"""

from horde.streams.meter import DEFAULT_STALL_AFTER, StreamMeter, StreamResult

__all__ = ["DEFAULT_STALL_AFTER", "StreamMeter", "StreamResult"]
