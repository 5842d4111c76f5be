"""Message codecs: how a connection turns application messages into frames and back.

A codec is applied by every transport right before a send and right after a receive, so
correlation, predicates and checks always see decoded messages. Chain codecs to layer a
transformation over JSON, e.g. 003's encrypted payloads::

    codec = Chain(JsonCodec(), Encrypted(key))   # encode: json then encrypt; decode: reverse
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol


class Codec(Protocol):
    """What a connection's ``codec=`` must be: any object with these two methods.

    A text result is sent as a text frame, ``bytes`` as a binary one."""

    def encode(self, message: Any) -> str | bytes:
        """The frame (or Socket.IO argument) to send for an application ``message``."""
        ...

    def decode(self, data: str | bytes) -> Any:
        """The application message a received frame carries (what predicates, ``match``
        and ``request`` see)."""
        ...


class RawCodec:
    """Text stays ``str``, binary stays ``bytes``: what was sent is what is seen."""

    def encode(self, message: Any) -> str | bytes:
        """Text and bytes as they are; anything else as compact JSON text."""
        if isinstance(message, str | bytes):
            return message
        return json.dumps(message, separators=(",", ":"))

    def decode(self, data: str | bytes) -> Any:
        """The frame itself."""
        return data


class JsonCodec:
    """JSON text frames: dicts and lists in, dicts and lists out. Non-JSON passes through."""

    def __init__(self) -> None:
        self._dumps = json.JSONEncoder(separators=(",", ":")).encode
        self._loads = json.loads

    def encode(self, message: Any) -> str | bytes:
        """Compact JSON text; text and bytes are sent as they are."""
        if isinstance(message, str | bytes):
            return message
        return self._dumps(message)

    def decode(self, data: str | bytes) -> Any:
        """The parsed JSON value, or the frame itself when it is not JSON."""
        try:
            return self._loads(data)
        except ValueError:
            return data


class FunctionCodec:
    """A codec from two plain functions (either may be ``None`` for identity)."""

    def __init__(
        self,
        encode: Callable[[Any], Any] | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> None:
        self._encode = encode or (lambda m: m)
        self._decode = decode or (lambda d: d)

    def encode(self, message: Any) -> Any:
        """``encode(message)``, as given."""
        return self._encode(message)

    def decode(self, data: Any) -> Any:
        """``decode(data)``, as given."""
        return self._decode(data)


class Chain:
    """Several codecs in order: encode runs first→last, decode last→first."""

    def __init__(self, *codecs: Codec) -> None:
        self._codecs = codecs

    def encode(self, message: Any) -> str | bytes:
        """Each codec's ``encode`` in turn, first to last."""
        for codec in self._codecs:
            message = codec.encode(message)
        return message

    def decode(self, data: str | bytes) -> Any:
        """Each codec's ``decode`` in turn, last to first."""
        for codec in reversed(self._codecs):
            data = codec.decode(data)
        return data


JSON = JsonCodec()
"""The shared :class:`JsonCodec`: ``codec=horde.JSON``."""
RAW = RawCodec()
"""The shared :class:`RawCodec`, every connection's default."""
