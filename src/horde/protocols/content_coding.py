"""HTTP content codings without I/O: compressed body bytes in, the body out.

Browsers send ``Accept-Encoding: gzip, deflate, br`` and servers compress what they can,
so the bytes the network carries are the compressed ones. horde asks for what zlib
decodes (:data:`ACCEPT_ENCODING`) and :class:`BodyDecoder` turns each piece of a body into
the bytes it stands for as the piece arrives — a streamed body is decoded piece by piece,
not at its end. Codings are undone last first (``Content-Encoding: deflate, gzip`` was
deflated, then gzipped). ``deflate`` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but
some servers send raw deflate; like browsers, the decoder accepts both.

A coding zlib cannot undo (``br``, ``zstd``: the server sent what was not asked for) is
left alone: :func:`decoder_for` returns None and the body stays as it came.
"""

from __future__ import annotations

import zlib

from horde.errors import ProtocolError

__all__ = ["ACCEPT_ENCODING", "BodyDecoder", "decoder_for"]

ACCEPT_ENCODING = "gzip, deflate"
_GZIP = 16 + zlib.MAX_WBITS  # wbits: gzip header and trailer
_ZLIB = zlib.MAX_WBITS
_RAW = -zlib.MAX_WBITS
_KNOWN = frozenset({"gzip", "x-gzip", "deflate", "identity"})


def decoder_for(content_encoding: str | None) -> BodyDecoder | None:
    """The decoder for a ``Content-Encoding`` value; None when there is nothing to undo
    (no coding, ``identity``) or a coding zlib cannot undo is among them."""
    if not content_encoding:
        return None
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    if not codings or any(c not in _KNOWN for c in codings):
        return None
    codings = [c for c in codings if c != "identity"]
    return BodyDecoder(codings) if codings else None


class _Stage:
    """One coding's zlib stream. For ``deflate`` the first two bytes decide: a zlib header
    (RFC 1950: CM 8, a multiple of 31) or else raw deflate."""

    __slots__ = ("head", "obj", "seen")

    def __init__(self, coding: str) -> None:
        self.obj = None if coding == "deflate" else zlib.decompressobj(_GZIP)
        self.head = b""  # deflate's first bytes, until there are two to look at
        self.seen = False  # any body byte at all

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        self.seen = True
        if self.obj is None:
            data = self.head + data
            if len(data) < 2:
                self.head = data
                return b""
            self.head = b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self.obj = zlib.decompressobj(_ZLIB if wrapped else _RAW)
        return self.obj.decompress(data)

    def finish(self) -> bytes:
        if not self.seen:
            return b""
        if self.obj is None:
            raise zlib.error("compressed body is one byte long")
        out = self.obj.flush()
        if not self.obj.eof:
            raise zlib.error("compressed body ends before its stream does")
        return out


class BodyDecoder:
    """Decodes one response body as it arrives: :meth:`feed` each piece, :meth:`finish`
    at the body's end. Both raise :class:`ProtocolError` (detail ``content_coding``) for
    bytes that are not what the Content-Encoding says."""

    __slots__ = ("_stages",)

    def __init__(self, codings: list[str]) -> None:
        self._stages = [_Stage(c) for c in reversed(codings)]  # the last applied goes first

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes this piece completes (often empty: zlib buffers)."""
        try:
            for stage in self._stages:
                data = stage.feed(data)
        except zlib.error as exc:
            raise _error(exc) from None
        return data

    def finish(self) -> bytes:
        """Whatever the decoders still held; raises if a compressed stream was cut short."""
        out = b""
        try:
            for stage in self._stages:
                out = stage.feed(out) + stage.finish()
        except zlib.error as exc:
            raise _error(exc) from None
        return out


def _error(exc: zlib.error) -> ProtocolError:
    return ProtocolError(f"body does not match its Content-Encoding: {exc}",
                         detail="content_coding")
