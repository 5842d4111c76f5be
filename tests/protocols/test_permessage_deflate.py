"""permessage-deflate (RFC 7692) without sockets: the answer parsed, payloads both ways."""

from __future__ import annotations

import zlib

import pytest

from horde.errors import ProtocolError
from horde.protocols.permessage_deflate import DeflateParams, DeflateSession, accept, offer


def test_the_offer_is_a_browsers() -> None:
    assert offer() == "permessage-deflate; client_max_window_bits"


@pytest.mark.parametrize(("header", "params"), [
    ("permessage-deflate", DeflateParams()),
    ("Permessage-Deflate; server_no_context_takeover; client_no_context_takeover",
     DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True)),
    ("permessage-deflate; server_max_window_bits=10; client_max_window_bits=\"9\"",
     DeflateParams(server_max_window_bits=10, client_max_window_bits=9)),
])
def test_accepted_answers(header: str, params: DeflateParams) -> None:
    session = accept(header)
    assert session is not None and session.params == params


@pytest.mark.parametrize("header", [None, "", "  "])
def test_no_answer_no_compression(header: str | None) -> None:
    assert accept(header) is None


@pytest.mark.parametrize("header", [
    "x-webkit-deflate-frame",  # never offered
    "permessage-deflate, permessage-deflate",  # two, one offered
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; server_max_window_bits",  # needs a value in an answer
    "permessage-deflate; client_no_context_takeover=1",
    "permessage-deflate; mystery",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
])
def test_answers_rfc_7692_fails(header: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        accept(header)
    assert caught.value.detail == "extension"


def test_rfc_7692_examples() -> None:
    """§7.2.3.1: "Hello" is f2 48 cd c9 c9 07 00; §7.2.3.2: the same again, with the
    window kept, is f2 00 11 00 00."""
    session = DeflateSession()
    assert session.encode(b"Hello") == bytes.fromhex("f248cdc9c90700")
    assert session.decode(bytes.fromhex("f248cdc9c90700"), 100) == b"Hello"
    assert session.decode(bytes.fromhex("f200110000"), 100) == b"Hello"


def test_context_takeover_shrinks_repeats_and_can_be_refused() -> None:
    message = b'{"type": "price", "symbol": "ACME", "bid": 101.25, "ask": 101.5}'
    kept = DeflateSession()
    first, second = kept.encode(message), kept.encode(message)
    assert len(second) < len(first) // 2  # the second refers back to the first
    fresh = DeflateSession(DeflateParams(client_no_context_takeover=True))
    assert fresh.encode(message) == fresh.encode(message) == first
    # what the server inflates, with its own single zlib stream
    inflate = zlib.decompressobj(-15)
    assert inflate.decompress(first + b"\x00\x00\xff\xff") == message
    assert inflate.decompress(second + b"\x00\x00\xff\xff") == message


@pytest.mark.parametrize("server_no_context_takeover", [False, True])
def test_decode_what_a_server_sends(server_no_context_takeover: bool) -> None:
    session = DeflateSession(DeflateParams(server_no_context_takeover=server_no_context_takeover))
    deflate = zlib.compressobj(wbits=-15)
    for i in range(5):
        if server_no_context_takeover:
            deflate = zlib.compressobj(wbits=-15)
        message = b"tick %d " % i * 40
        packed = deflate.compress(message) + deflate.flush(zlib.Z_SYNC_FLUSH)
        assert packed.endswith(b"\x00\x00\xff\xff")
        assert session.decode(bytearray(packed[:-4]), 10_000) == message


def test_garbage_and_bombs_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError) as caught:
        DeflateSession().decode(b"\xff\xff\xff\xff not deflate", 1000)
    assert caught.value.detail == "bad_deflate"
    bomb = DeflateSession().encode(b"\x00" * 100_000)
    assert len(bomb) < 1000
    with pytest.raises(ProtocolError) as caught:
        DeflateSession().decode(bomb, 50_000)
    assert caught.value.detail == "too_big"
