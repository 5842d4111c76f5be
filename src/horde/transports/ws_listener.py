"""The picows side of a WebSocketConnection: frames in, decoded messages out, errors mapped.

picows parses frames (and rejects bad opcodes, masked server frames, oversize frames and
bad close codes itself), answers PINGs, and calls :meth:`Listener.on_ws_frame` for the
rest. What RFC 6455 still asks of the endpoint lives here: reserved bits must be zero
without an extension, TEXT must be UTF-8, fragments must be reassembled in order, and a
peer's CLOSE must be answered. Any violation is a ``protocol_error`` and ends the
connection; a peer's CLOSE or a lost socket is ``closed_by_peer``. With permessage-deflate
negotiated (``deflate``), a message whose first frame has RSV1 set is inflated once whole
(:mod:`horde.protocols.permessage_deflate`): its payload counts as carried, the inflated
size beside it.

The fast path (a whole TEXT/BINARY frame, no fragment pending) is kept to a few attribute
reads and calls, because it runs once per received message for every simulated user.
:func:`classify_connect` maps what ``ws_connect`` raises to the error tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
from collections.abc import Callable
from typing import Any, Protocol

from picows import WSCloseCode, WSFrame, WSHandshakeError, WSListener, WSMsgType, WSTransport

from horde.errors import (
    AppError,
    HandshakeRejectedError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    SubprotocolMismatchError,
    TargetError,
    TargetRefusedError,
    classify,
)
from horde.metrics.names import WS_MSG_IN
from horde.metrics.recorder import Recorder
from horde.protocols.permessage_deflate import DeflateSession
from horde.transports.inbox import Inbox
from horde.transports.shared import error_detail
from horde.transports.wire import tcp_bytes


class Owner(Protocol):
    """What the listener reports to, inside this package: the
    :class:`~horde.transports.websocket.WebSocketConnection` it is the picows side of —
    connected, finished (how, and whether we asked), and the write buffer's pressure."""

    _closing: bool  # we sent CLOSE: an end now is the one we asked for

    def _on_connected(self, transport: WSTransport) -> None: ...

    def _finish(self, exc: TargetError | None, code: int, *, dropped: bool) -> None: ...

    def _pause_writing(self) -> None: ...

    def _resume_writing(self) -> None: ...

TEXT = WSMsgType.TEXT
BINARY = WSMsgType.BINARY
_CONT = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE

# frag_type value after the connection failed: forces every later frame off the fast path.
_DEAD: Any = object()
NO_STATUS = 1005  # RFC 6455 §7.4.1: CLOSE without a code
ABNORMAL = 1006  # RFC 6455 §7.4.1: connection lost without a CLOSE
# Codes that may not be sent on the wire; a CLOSE carrying them is answered with 1000.
_UNSENDABLE = frozenset({0, 1004, 1005, 1006, 1015})
# picows closes with these codes on a parser error; the detail names the problem.
_PICOWS_ERRORS = {1007: "invalid_utf8", 1009: "too_big"}
_ERRNO = re.compile(r"\[Errno (\d+)\]")


_reaping: set[asyncio.Task[None]] = set()


def _reap(transport: WSTransport) -> None:
    """Collect the parser error picows keeps for ``wait_disconnected`` (else asyncio warns)."""

    async def wait() -> None:
        with contextlib.suppress(Exception):
            await transport.wait_disconnected()

    task = asyncio.ensure_future(wait())
    _reaping.add(task)
    task.add_done_callback(_reaping.discard)


class Listener(WSListener):
    """Receives picows callbacks for one connection and feeds its inbox and recorder."""

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

    # -- picows callbacks -------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.conn._on_connected(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if (
            self.frag_type is None
            and frame.fin
            and not (frame.rsv1 or frame.rsv2 or frame.rsv3)
            and not transport.is_close_frame_sent  # after picows's own CLOSE: see slow path
        ):
            if msg_type is TEXT:
                try:
                    data: str | bytes = frame.get_payload_as_utf8_text()
                except UnicodeDecodeError:
                    self.fail(transport, "invalid_utf8", 1007, "TEXT frame is not valid UTF-8")
                    return
            elif msg_type is BINARY:
                data = frame.get_payload_as_bytes()
            else:
                self._on_other_frame(transport, frame, msg_type)
                return
            self.deliver(data, frame.payload_size)
        else:
            self._on_other_frame(transport, frame, msg_type)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.recorder.add_wire(self.recorder.websocket, tcp_bytes(transport.underlying_transport))
        conn = self.conn
        handshake = transport.close_handshake
        if conn._closing:  # we asked for it and the server never answered our CLOSE
            sent = handshake.sent if handshake is not None else None
            conn._finish(None, int(sent.code) if sent is not None else 1000, dropped=False)
            return
        if handshake is not None and handshake.sent is not None and handshake.recv is None:
            # picows sent CLOSE itself: its frame parser rejected what the server sent.
            code = int(handshake.sent.code)
            detail = _PICOWS_ERRORS.get(code, "bad_frame")
            conn._finish(ProtocolError(handshake.sent.reason, detail=detail), code, dropped=True)
            _reap(transport)
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

    def _on_other_frame(self, transport: WSTransport, frame: WSFrame, msg_type: Any) -> None:
        if self.frag_type is _DEAD:
            return
        if transport.is_close_frame_sent and not self.conn._closing:
            # picows sent CLOSE after a parser error but may still hand us the rest of the
            # bad frame before it disconnects; nothing after the error is a message.
            self.frag_type = _DEAD
            return
        if msg_type is _CLOSE:
            self._on_close(transport, frame)
            return
        if msg_type is not TEXT and msg_type is not BINARY and msg_type is not _CONT:
            return  # PONG (PING never gets here: picows answers it)
        if frame.rsv2 or frame.rsv3 or (frame.rsv1 and (self.deflate is None or msg_type is _CONT)):
            self.fail(transport, "reserved_bits", 1002, "reserved bits set, no extension agreed")
            return
        if msg_type is _CONT:
            if self.frag_type is None:
                self.fail(transport, "bad_fragment", 1002, "continuation without a message")
                return
            self.frag_buf += frame.get_payload_as_memoryview()  # type: ignore[operator]
        else:
            if self.frag_type is not None:
                self.fail(transport, "bad_fragment", 1002, "new message inside a fragmented one")
                return
            self.frag_type = msg_type
            self.frag_deflated = bool(frame.rsv1)
            self.frag_buf = bytearray(frame.get_payload_as_memoryview())
        buf = self.frag_buf
        assert buf is not None
        if len(buf) > self.max_size:
            self.fail(transport, "too_big", 1009, f"message over {self.max_size} bytes")
            return
        if not frame.fin:
            return
        is_text = self.frag_type is TEXT
        self.frag_type = self.frag_buf = None
        carried = len(buf)
        if self.frag_deflated:
            inflated = self._inflate(transport, buf)
            if inflated is None:
                return
            buf = inflated
        if not is_text:
            self.deliver(bytes(buf), carried)
            return
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(transport, "invalid_utf8", 1007, "TEXT message is not valid UTF-8")
            return
        self.deliver(text, carried)

    def _inflate(self, transport: WSTransport, buf: bytearray) -> bytes | None:
        """A compressed message, inflated (its extra size counted); None if it failed."""
        self.frag_deflated = False
        try:
            data = self.deflate.decode(buf, self.max_size)  # type: ignore[union-attr]
        except ProtocolError as exc:
            code = 1009 if exc.detail == "too_big" else 1007
            self.fail(transport, exc.detail or "bad_deflate", code, str(exc))
            return None
        self.recorder.add_decoded(self.recorder.websocket, 0, len(data) - len(buf))
        return data

    def _on_close(self, transport: WSTransport, frame: WSFrame) -> None:
        """The server's CLOSE: the answer to ours, or its own decision (counted as a drop)."""
        self.frag_type = _DEAD
        code = int(frame.get_close_code()) or NO_STATUS
        conn = self.conn
        if conn._closing:
            conn._finish(None, code, dropped=False)
        else:
            reason = frame.get_close_reason() or ""
            transport.send_close(1000 if code in _UNSENDABLE else code)  # type: ignore[arg-type]
            exc = PeerClosedError(f"server closed the connection: {code} {reason}".strip(),
                                  code=code)
            conn._finish(exc, code, dropped=True)
        transport.disconnect()

    def fail(self, transport: WSTransport, detail: str, code: int, text: str) -> None:
        """A protocol violation by the server: count it, close with ``code``, drop the rest."""
        self.frag_type = _DEAD
        self.frag_buf = None
        self.conn._finish(ProtocolError(text, detail=detail), code, dropped=True)
        transport.send_close(WSCloseCode(code), text.encode())
        transport.disconnect()


# -- the connect boundary: what ws_connect raised → a TargetError -------------------------


def classify_connect(exc: BaseException, timeout: float) -> TargetError:
    """Map what ws_connect raised to the most specific TargetError."""
    if isinstance(exc, WSHandshakeError):
        response = exc.response
        if response is not None and int(response.status) != 101:
            status = int(response.status)
            return HandshakeRejectedError(f"server answered the upgrade with {status}",
                                          status=status)
        return ProtocolError(f"invalid handshake response: {exc}", detail="handshake")
    if isinstance(exc, SubprotocolMismatchError):
        return exc
    if isinstance(exc, TimeoutError):
        return OperationTimeoutError(f"connect: no handshake within {timeout}s",
                                     detail="ws_connect")
    if type(exc) is OSError and exc.errno is None:
        # Several addresses (::1 and 127.0.0.1) all refusing: asyncio joins them in one text.
        codes = _ERRNO.findall(str(exc))
        if codes and all(int(c) == errno.ECONNREFUSED for c in codes):
            return TargetRefusedError(f"{type(exc).__name__}: {exc}")
    return classify(exc)
