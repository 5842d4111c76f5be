"""Content codings without sockets: gzip and deflate bodies decoded piece by piece."""

from __future__ import annotations

import gzip
import zlib

import pytest

from horde.errors import ProtocolError
from horde.protocols.content_coding import decoder_for
from horde.protocols.http import HttpProtocol

TEXT = b"the quick brown fox jumps over the lazy dog " * 50


def raw_deflate(data: bytes) -> bytes:
    obj = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return obj.compress(data) + obj.flush()


def gz(data: bytes) -> bytes:
    """gzip with a fixed mtime: the same bytes in every process (pytest-xdist's workers
    must collect the same parameters)."""
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize(("coding", "encoded"), [
    ("gzip", gz(TEXT)),
    ("x-gzip", gz(TEXT)),
    ("deflate", zlib.compress(TEXT)),
    ("deflate", raw_deflate(TEXT)),  # raw deflate, as some servers send it
    ("GZIP", gz(TEXT)),
    ("deflate, gzip", gz(zlib.compress(TEXT))),  # undone last first
    ("identity, gzip", gz(TEXT)),
], ids=["gzip", "x-gzip", "zlib-deflate", "raw-deflate", "GZIP", "deflate-gzip", "identity-gzip"])
def test_decoded_whole_and_byte_by_byte(coding: str, encoded: bytes) -> None:
    decoder = decoder_for(coding)
    assert decoder is not None
    assert decoder.feed(encoded) + decoder.finish() == TEXT
    decoder = decoder_for(coding)
    assert decoder is not None
    pieces = [decoder.feed(encoded[i:i + 1]) for i in range(len(encoded))]
    assert b"".join(pieces) + decoder.finish() == TEXT


@pytest.mark.parametrize("coding", [None, "", "identity", "br", "gzip, br", "zstd"])
def test_nothing_to_undo_or_nothing_zlib_can_undo(coding: str | None) -> None:
    assert decoder_for(coding) is None


def test_garbage_and_truncated_bodies_are_protocol_errors() -> None:
    decoder = decoder_for("gzip")
    assert decoder is not None
    with pytest.raises(ProtocolError) as caught:
        decoder.feed(b"this is not gzip at all")
    assert caught.value.detail == "content_coding"
    decoder = decoder_for("gzip")
    assert decoder is not None
    decoder.feed(gzip.compress(TEXT)[:-10])
    with pytest.raises(ProtocolError):
        decoder.finish()


def test_an_empty_body_with_a_coding_is_fine() -> None:  # e.g. a 204 or 304 with the header
    decoder = decoder_for("gzip")
    assert decoder is not None
    assert decoder.finish() == b""


def _response(body: bytes, coding: str, *, chunked: bool = False) -> bytes:
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                          for i in range(0, len(body), 7)) + b"0\r\n\r\n"
        return (b"HTTP/1.1 200 OK\r\nContent-Encoding: " + coding.encode()
                + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + framed)
    return (b"HTTP/1.1 200 OK\r\nContent-Encoding: " + coding.encode()
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


@pytest.mark.parametrize("chunked", [False, True])
def test_http_protocol_decodes_when_asked_and_counts_the_body_as_carried(chunked: bool) -> None:
    encoded = gzip.compress(TEXT)
    proto = HttpProtocol()
    proto.expect_response("GET", decode=True)
    response = proto.receive_data(_response(encoded, "gzip", chunked=chunked))
    assert response is not None and response.body == TEXT
    assert proto.body_received == len(encoded)
    proto.expect_response("GET")  # not asked: the body stays as it came
    response = proto.receive_data(_response(encoded, "gzip", chunked=chunked))
    assert response is not None and response.body == encoded
    assert proto.body_received == len(encoded)


def test_http_protocol_reports_a_body_that_does_not_decode() -> None:
    proto = HttpProtocol()
    proto.expect_response("GET", decode=True)
    with pytest.raises(ProtocolError) as caught:
        proto.receive_data(_response(b"not gzip", "gzip"))
    assert caught.value.detail == "content_coding"


def test_http_protocol_decodes_a_close_delimited_body_at_eof() -> None:
    encoded = zlib.compress(TEXT)
    proto = HttpProtocol()
    proto.expect_response("GET", decode=True)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n\r\n"
    assert proto.receive_data(head + encoded) is None
    response = proto.receive_eof()
    assert response is not None and response.body == TEXT
