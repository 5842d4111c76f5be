"""Server-Sent Events without I/O: body bytes in, :class:`SseEvent` values out.

Follows the WHATWG HTML "event stream interpretation" (§9.2.6): UTF-8 with one leading
BOM dropped, lines ending in CRLF, LF or CR, ``:`` comments, the ``event``/``data``/``id``/
``retry`` fields (a single space after the colon is stripped), an event dispatched at each
blank line, ``data`` lines joined with LF, and an ``id`` that persists across events until
the next ``id`` field. Bytes may be split anywhere, even inside a UTF-8 character or
between the CR and LF of one line break. An event not ended by a blank line when the
stream ends is discarded, as the spec says.

The reconnecting client (:mod:`horde.transports.sse`) feeds body pieces to
:meth:`SseProtocol.receive_data` and reads ``last_event_id`` and ``retry_ms`` back.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["SseEvent", "SseProtocol"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event. ``id`` is the last event id in force when it was dispatched
    (``""`` if none was ever set); ``event`` is ``"message"`` unless the server named it."""

    data: str
    event: str = "message"
    id: str = ""


class SseProtocol:
    """Parsing state of one event stream; survives reconnects (``last_event_id``, retry)."""

    __slots__ = ("_data", "_decoder", "_event", "_line", "_skip_lf", "_started",
                 "last_event_id", "retry_ms")

    def __init__(self) -> None:
        self.last_event_id = ""
        self.retry_ms: int | None = None  # the server's latest ``retry:``; None: never sent
        self.reset()

    def reset(self) -> None:
        """Start a new response body (after a reconnect); the id and retry are kept."""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._started = False  # the BOM check is still due
        self._line = ""  # an incomplete line carried over from the last piece
        self._skip_lf = False  # the last piece ended in CR: a leading LF belongs to it
        self._data: list[str] = []
        self._event = ""

    def receive_data(self, data: bytes) -> list[SseEvent]:
        """Feed a piece of the body; return the events it completed (often none)."""
        text = self._decoder.decode(data)
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text[:1] == "\n":
                text = text[1:]
        pieces = _LINE_BREAK.split(text)
        if len(pieces) == 1:  # no line ended in this piece
            self._line += text
            return []
        self._skip_lf = text[-1] == "\r"
        pieces[0] = self._line + pieces[0]
        self._line = pieces.pop()
        events: list[SseEvent] = []
        for line in pieces:
            event = self._process(line)
            if event is not None:
                events.append(event)
        return events

    def _process(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None  # a comment (often a keep-alive)
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None  # unknown fields are ignored

    def _dispatch(self) -> SseEvent | None:
        data, event = self._data, self._event
        self._data = []
        self._event = ""
        if not data:
            return None
        return SseEvent("\n".join(data), event or "message", self.last_event_id)
