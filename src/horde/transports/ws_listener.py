"""The frames side of a WebSocketConnection: frames in, decoded messages out, errors mapped.

The :class:`~horde.transports.ws_client.WebSocketClient` parses frames (and rejects bad
opcodes, masked server frames, oversize frames and bad close codes itself), answers PINGs,
and calls :meth:`Listener.on_ws_frame` for the rest. What RFC 6455 still asks of the
endpoint lives here: reserved bits must be zero without an extension, TEXT must be UTF-8,
fragments must be reassembled in order, and a peer's CLOSE must be answered. Any violation
is a ``protocol_error`` and ends the connection; a peer's CLOSE or a lost socket is
``closed_by_peer``. With permessage-deflate negotiated (``deflate``), a message whose
first frame has RSV1 set is inflated once whole
(:mod:`horde.protocols.permessage_deflate`): its payload counts as carried, the inflated
size beside it.

The fast path (a whole TEXT/BINARY frame, no fragment pending) is kept to a few attribute
reads and calls, because it runs once per received message for every simulated user.
:func:`classify_connect` maps what ``open_websocket`` raises to the error tree.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from typing import Any, Protocol

from horde.errors import (
    AppError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    TargetError,
    TargetRefusedError,
    classify,
)
from horde.metrics.names import WS_MSG_IN
from horde.metrics.recorder import Recorder
from horde.protocols.permessage_deflate import DeflateSession
from horde.protocols.websocket_frames import BINARY, CLOSE, CONTINUATION, RSV1, TEXT, Frame
from horde.transports.inbox import Inbox
from horde.transports.shared import error_detail
from horde.transports.wire import tcp_bytes
from horde.transports.ws_client import WebSocketClient


class Owner(Protocol):
    """What the listener reports to, inside this package: the
    :class:`~horde.transports.websocket.WebSocketConnection` it is the frames side of —
    connected, finished (how, and whether we asked), and the write buffer's pressure."""

    _closing: bool  # we sent CLOSE: an end now is the one we asked for

    def _on_connected(self, client: WebSocketClient) -> None: ...

    def _finish(self, exc: TargetError | None, code: int, *, dropped: bool) -> None: ...

    def _pause_writing(self) -> None: ...

    def _resume_writing(self) -> None: ...

__all__ = ["BINARY", "TEXT", "Listener", "classify_connect"]

# frag_type value after the connection failed: forces every later frame off the fast path.
_DEAD: Any = object()
NO_STATUS = 1005  # RFC 6455 §7.4.1: CLOSE without a code
ABNORMAL = 1006  # RFC 6455 §7.4.1: connection lost without a CLOSE
# Codes that may not be sent on the wire; a CLOSE carrying them is answered with 1000.
_UNSENDABLE = frozenset({0, 1004, 1005, 1006, 1015})
# The client closes with these codes on a frame it refused; the detail names the problem.
_FRAME_ERRORS = {1007: "invalid_utf8", 1009: "too_big", 1011: "client_failed"}
_ERRNO = re.compile(r"\[Errno (\d+)\]")


class Listener:
    """Receives one connection's frames and end, and feeds its inbox and recorder."""

    __slots__ = (
        "conn",
        "decode",
        "deflate",
        "error_detail",
        "error_when",
        "event_key",
        "frag_buf",
        "frag_deflated",
        "frag_type",
        "handler",
        "inbox",
        "max_size",
        "recorder",
    )

    def __init__(
        self,
        conn: Owner,
        recorder: Recorder,
        decode: Callable[[Any], Any] | None,
        event_key: Callable[[Any], str | None] | None,
        inbox: Inbox,
        max_size: int,
    ) -> None:
        self.conn = conn
        self.recorder = recorder
        self.decode = decode
        self.event_key = event_key
        self.inbox = inbox
        self.max_size = max_size
        self.handler: Callable[[Any], None] | None = None
        self.error_when: Callable[[Any], bool] | None = None  # the app's error messages
        self.error_detail: Callable[[Any], object] | None = None  # and what each one says
        self.frag_type: Any = None  # TEXT/BINARY while a fragmented message is pending
        self.frag_buf: bytearray | None = None
        self.deflate: DeflateSession | None = None  # permessage-deflate, once negotiated
        self.frag_deflated = False  # the pending message's first frame had RSV1

    # -- the client's callbacks ---------------------------------------------------------------

    def on_ws_connected(self, client: WebSocketClient) -> None:
        self.conn._on_connected(client)

    def on_ws_frame(self, client: WebSocketClient, frame: Frame) -> None:
        opcode = frame.opcode
        if (
            self.frag_type is None
            and frame.fin
            and not frame.rsv
            and client.close_sent is None  # after the client's own CLOSE: see slow path
        ):
            payload = frame.payload
            if opcode == TEXT:
                try:
                    data: str | bytes = payload.decode()
                except UnicodeDecodeError:
                    self.fail(client, "invalid_utf8", 1007, "TEXT frame is not valid UTF-8")
                    return
            elif opcode == BINARY:
                data = payload
            else:
                self._on_other_frame(client, frame, opcode)
                return
            self.deliver(data, len(payload))
        else:
            self._on_other_frame(client, frame, opcode)

    def on_ws_disconnected(self, client: WebSocketClient) -> None:
        self.recorder.add_wire(self.recorder.websocket, tcp_bytes(client.transport))
        conn = self.conn
        sent = client.close_sent
        if conn._closing:  # we asked for it and the server never answered our CLOSE
            conn._finish(None, sent[0] if sent is not None else 1000, dropped=False)
            return
        if sent is not None and client.close_received is None:
            # the client sent CLOSE itself: it refused a frame the server sent
            code, reason = sent
            detail = _FRAME_ERRORS.get(code, "bad_frame")
            conn._finish(ProtocolError(reason, detail=detail), code, dropped=True)
        else:
            conn._finish(PeerClosedError("connection lost", code=ABNORMAL), ABNORMAL, dropped=True)

    def pause_writing(self) -> None:
        self.conn._pause_writing()

    def resume_writing(self) -> None:
        self.conn._resume_writing()

    # -- delivery ---------------------------------------------------------------------------

    def deliver(self, data: str | bytes, size: int) -> None:
        """Decode, count, and hand one complete message to a waiter, the handler or the inbox."""
        recorder = self.recorder
        decode = self.decode
        if decode is None:
            message: Any = data
        else:
            try:
                message = decode(data)
            except Exception as exc:  # the codec cannot read what the server sent
                recorder.ws_message_received(size)
                recorder.error("protocol_error", "decode", f"{type(exc).__name__}: {exc}")
                return
        event_key = self.event_key
        if event_key is None:
            recorder.ws_message_received(size)
        else:
            try:
                recorder.count(WS_MSG_IN, event_key(message))
                recorder.ws_message_received(size, counted=True)
            except Exception as exc:
                recorder.ws_message_received(size)
                recorder.scenario_exception(exc)
        inbox = self.inbox
        if self.error_when is not None:
            self.check_error(message)
        waiters = inbox.waiters
        if waiters:
            fut, predicate, _, _, op = waiters[0]
            if predicate is None and not fut.done():  # a receive()/request(): the usual case
                del waiters[0]
                if op is not None:  # a request's reply: its latency ends as it is parsed
                    recorder.succeed(op)
                fut.set_result(message)
                return
            if inbox.offer(message):
                return
        if self.handler is None:
            inbox.append(message)
        else:
            self.call_handler(message)

    def check_error(self, message: Any) -> None:
        """``error_when`` accepts ``message``: an ``app_error`` (its message as the
        detail), and the requests and streams waiting fail by it. The message itself is
        then delivered as any other."""
        try:
            is_error = self.error_when(message)  # type: ignore[misc]
        except Exception as exc:  # the scenario's predicate is broken: count it, go on
            self.recorder.scenario_exception(exc)
            return
        if is_error:
            try:
                detail = error_detail(message, self.error_detail)
            except Exception as exc:  # the scenario's function is broken: count it, go on
                self.recorder.scenario_exception(exc)
                detail = error_detail(message)
            err = AppError(f"error message: {detail}", detail=detail)
            self.recorder.target_error(err)
            self.inbox.fail_operations(err)

    def call_handler(self, message: Any) -> None:
        try:
            self.handler(message)  # type: ignore[misc]
        except Exception as exc:  # the scenario's handler is broken: count it, keep reading
            self.recorder.scenario_exception(exc)

    # -- the slow path: fragments, control frames, violations --------------------------------

    def _on_other_frame(self, client: WebSocketClient, frame: Frame, opcode: int) -> None:
        if self.frag_type is _DEAD:
            return
        if client.close_sent is not None and not self.conn._closing:
            # the client refused a frame and sent CLOSE: nothing after it is a message
            self.frag_type = _DEAD
            return
        if opcode == CLOSE:
            self._on_close(client)
            return
        if opcode != TEXT and opcode != BINARY and opcode != CONTINUATION:
            return  # PONG (PING never gets here: the client answers it)
        rsv = frame.rsv
        if rsv & ~RSV1 or (rsv and (self.deflate is None or opcode == CONTINUATION)):
            self.fail(client, "reserved_bits", 1002, "reserved bits set, no extension agreed")
            return
        if opcode == CONTINUATION:
            if self.frag_type is None:
                self.fail(client, "bad_fragment", 1002, "continuation without a message")
                return
            self.frag_buf += frame.payload  # type: ignore[operator]
        else:
            if self.frag_type is not None:
                self.fail(client, "bad_fragment", 1002, "new message inside a fragmented one")
                return
            self.frag_type = opcode
            self.frag_deflated = bool(rsv)
            self.frag_buf = bytearray(frame.payload)
        buf = self.frag_buf
        assert buf is not None
        if len(buf) > self.max_size:
            self.fail(client, "too_big", 1009, f"message over {self.max_size} bytes")
            return
        if not frame.fin:
            return
        is_text = self.frag_type is TEXT
        self.frag_type = self.frag_buf = None
        carried = len(buf)
        if self.frag_deflated:
            inflated = self._inflate(client, buf)
            if inflated is None:
                return
            buf = inflated
        if not is_text:
            self.deliver(bytes(buf), carried)
            return
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(client, "invalid_utf8", 1007, "TEXT message is not valid UTF-8")
            return
        self.deliver(text, carried)

    def _inflate(self, client: WebSocketClient, buf: bytearray) -> bytes | None:
        """A compressed message, inflated (its extra size counted); None if it failed."""
        self.frag_deflated = False
        try:
            data = self.deflate.decode(buf, self.max_size)  # type: ignore[union-attr]
        except ProtocolError as exc:
            code = 1009 if exc.detail == "too_big" else 1007
            self.fail(client, exc.detail or "bad_deflate", code, str(exc))
            return None
        self.recorder.add_decoded(self.recorder.websocket, 0, len(data) - len(buf))
        return data

    def _on_close(self, client: WebSocketClient) -> None:
        """The server's CLOSE (read by the client): the answer to ours, or its own
        decision (counted as a drop)."""
        self.frag_type = _DEAD
        code, reason = client.close_received or (None, "")
        code = code or NO_STATUS
        conn = self.conn
        if conn._closing:
            conn._finish(None, code, dropped=False)
        else:
            client.send_close(1000 if code in _UNSENDABLE else code)
            exc = PeerClosedError(f"server closed the connection: {code} {reason}".strip(),
                                  code=code)
            conn._finish(exc, code, dropped=True)
        client.disconnect()

    def fail(self, client: WebSocketClient, detail: str, code: int, text: str) -> None:
        """A protocol violation by the server: count it, close with ``code``, drop the rest."""
        self.frag_type = _DEAD
        self.frag_buf = None
        self.conn._finish(ProtocolError(text, detail=detail), code, dropped=True)
        client.send_close(code, text.encode())
        client.disconnect()


# -- the connect boundary: what open_websocket raised → a TargetError ----------------------


def classify_connect(exc: BaseException, timeout: float) -> TargetError:
    """Map what open_websocket raised to the most specific TargetError (its own refusals
    — a status, a bad 101, a hang-up — are TargetErrors already)."""
    if isinstance(exc, TimeoutError):
        return OperationTimeoutError(f"connect: no handshake within {timeout}s",
                                     detail="ws_connect")
    if type(exc) is OSError and exc.errno is None:
        # Several addresses (::1 and 127.0.0.1) all refusing: asyncio joins them in one text.
        codes = _ERRNO.findall(str(exc))
        if codes and all(int(c) == errno.ECONNREFUSED for c in codes):
            return TargetRefusedError(f"{type(exc).__name__}: {exc}")
    return classify(exc)
