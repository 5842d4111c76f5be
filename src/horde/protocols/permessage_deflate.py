"""WebSocket permessage-deflate (RFC 7692) without I/O: the offer, the server's answer,
and each message's payload compressed and decompressed.

Browsers offer ``permessage-deflate; client_max_window_bits`` on every WebSocket and most
servers accept, so a browser's messages travel compressed. horde offers the same when a
scenario asks for it (``compression=True``); the WebSocket client frames the bytes and
carries the RSV1 bit, this module does the rest:

* :func:`offer` is the ``Sec-WebSocket-Extensions`` request value; :func:`accept` reads
  the server's answer into a :class:`DeflateSession` (None: not negotiated) or raises
  :class:`~horde.errors.ProtocolError` for an answer RFC 7692 says to fail on.
* :meth:`DeflateSession.encode` compresses one message (sync flush, the trailing
  ``00 00 ff ff`` removed); :meth:`DeflateSession.decode` appends it back and inflates.
  Each direction keeps its LZ77 window across messages (context takeover) unless the
  server's answer said ``*_no_context_takeover``.

A compressing connection holds two zlib streams, ~300 KB at the default window (15 bits):
what a browser tab pays too, but it adds up over thousands of virtual users.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from horde.errors import ProtocolError

__all__ = ["EXTENSION", "DeflateParams", "DeflateSession", "accept", "offer"]

EXTENSION = "permessage-deflate"
_TAIL = b"\x00\x00\xff\xff"
_BITS = range(8, 16)


def offer() -> str:
    """The request's ``Sec-WebSocket-Extensions`` value: what a browser offers."""
    return f"{EXTENSION}; client_max_window_bits"


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """What the server's answer agreed."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


def accept(header: str | None) -> DeflateSession | None:
    """The session the server's ``Sec-WebSocket-Extensions`` answer agreed to, or None if
    it accepted none. Raises ProtocolError (detail ``extension``) for an extension we did
    not offer, an unknown or repeated parameter, or a window size outside 8..15."""
    if not header or not header.strip():
        return None
    accepted = [part.strip() for part in header.split(",") if part.strip()]
    if len(accepted) != 1:
        raise _bad(f"server accepted {len(accepted)} extensions, one was offered: {header!r}")
    name, *params = [p.strip() for p in accepted[0].split(";")]
    if name.lower() != EXTENSION:
        raise _bad(f"server accepted an extension that was not offered: {name!r}")
    found: dict[str, bool | int] = {}
    for param in params:
        key, _, value = (s.strip().strip('"') for s in param.partition("="))
        key = key.lower()
        if key in found:
            raise _bad(f"{EXTENSION}: {key} given twice")
        if key in ("server_no_context_takeover", "client_no_context_takeover") and not value:
            found[key] = True
        elif key in ("server_max_window_bits", "client_max_window_bits") and value:
            if not value.isdigit() or int(value) not in _BITS:
                raise _bad(f"{EXTENSION}: {key}={value} is not 8..15")
            found[key] = int(value)
        else:
            raise _bad(f"{EXTENSION}: unexpected parameter {param!r}")
    return DeflateSession(DeflateParams(**found))  # type: ignore[arg-type]


class DeflateSession:
    """One connection's compression state, both directions (see the module docstring)."""

    __slots__ = ("_compress", "_decompress", "params")

    def __init__(self, params: DeflateParams | None = None) -> None:
        self.params = params or DeflateParams()
        self._compress = self._new_compressor()
        self._decompress = zlib.decompressobj(-15)  # a wider window reads any narrower one

    def encode(self, data: bytes) -> bytes:
        """One message's payload, compressed: send it with RSV1 set."""
        if self.params.client_no_context_takeover:
            self._compress = self._new_compressor()
        out = self._compress.compress(data) + self._compress.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out.endswith(_TAIL) else out

    def decode(self, data: bytes | bytearray, max_size: int) -> bytes:
        """One message (all its frames' payloads joined) received with RSV1 set, inflated.
        Raises ProtocolError: ``too_big`` past ``max_size``, ``bad_deflate`` for garbage."""
        if self.params.server_no_context_takeover:
            self._decompress = zlib.decompressobj(-15)
        obj = self._decompress
        try:
            out = obj.decompress(bytes(data) + _TAIL, max_size + 1)
        except zlib.error as exc:
            raise ProtocolError(f"compressed message does not inflate: {exc}",
                                detail="bad_deflate") from None
        if len(out) > max_size:
            raise ProtocolError(f"message over {max_size} bytes once inflated", detail="too_big")
        return out

    def _new_compressor(self) -> zlib._Compress:
        # zlib cannot write raw deflate with an 8-bit window; 9 is what servers accept for 8
        bits = max(self.params.client_max_window_bits, 9)
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)


def _bad(text: str) -> ProtocolError:
    return ProtocolError(text, detail="extension")
