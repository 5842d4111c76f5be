"""SseProtocol with plain bytes: the WHATWG event stream rules, fed whole and split."""

from __future__ import annotations

import pytest

from horde.protocols.sse import SseEvent, SseProtocol


def feed(*pieces: bytes) -> tuple[list[SseEvent], SseProtocol]:
    proto = SseProtocol()
    events: list[SseEvent] = []
    for piece in pieces:
        events.extend(proto.receive_data(piece))
    return events, proto


def test_one_event_with_id_and_type():
    events, proto = feed(b"id: 7\nevent: tick\ndata: hello\n\n")
    assert events == [SseEvent("hello", "tick", "7")]
    assert proto.last_event_id == "7"


def test_data_lines_are_joined_with_lf_and_default_type_is_message():
    events, _ = feed(b"data: a\ndata: b\ndata\n\n")
    assert events == [SseEvent("a\nb\n", "message", "")]


def test_only_one_leading_space_is_stripped_and_no_colon_means_empty_value():
    events, _ = feed(b"data:  two spaces\n\ndata\n\n")
    assert [e.data for e in events] == [" two spaces", ""]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(eol: bytes):
    stream = eol.join([b"id: 1", b"data: x", b"", b"data: y", b"", b""])
    events, _ = feed(stream)
    assert events == [SseEvent("x", id="1"), SseEvent("y", id="1")]


def test_id_persists_and_an_empty_id_resets_it():
    events, proto = feed(b"id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.id for e in events] == ["5", "5", ""]
    assert proto.last_event_id == ""


def test_id_with_nul_is_ignored():
    events, _ = feed(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_comments_and_unknown_fields_are_ignored():
    events, _ = feed(b": keep-alive\nfoo: bar\ndata: x\n: more\n\n")
    assert events == [SseEvent("x")]


def test_retry_only_takes_ascii_digits():
    _, proto = feed(b"retry: 1500\n\n")
    assert proto.retry_ms == 1500
    proto.receive_data(b"retry: 12a\n\nretry: \xc2\xb2\n\n")  # "²" is a digit, not ASCII
    assert proto.retry_ms == 1500


def test_blank_line_without_data_dispatches_nothing_and_clears_the_type():
    events, _ = feed(b"event: a\n\ndata: x\n\n")
    assert events == [SseEvent("x", "message")]


def test_leading_bom_is_dropped_once_even_when_split():
    events, _ = feed(b"\xef\xbb", b"\xbfdata: x\n\n\xef\xbb\xbfdata: y\n\n")
    # Only the first BOM is dropped: the second is part of a field name, so ignored.
    assert events == [SseEvent("x")]


def test_unfinished_event_is_not_dispatched():
    events, _ = feed(b"data: a\n\ndata: b\n")
    assert events == [SseEvent("a")]


def test_split_between_cr_and_lf_is_one_line_break():
    events, _ = feed(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [SseEvent("a\nb")]


def test_split_at_every_byte_gives_the_same_events():
    stream = (
        "\ufeffid: 1\r\nevent: chat\r\ndata: héllo\r\ndata: wörld\r\n\r\n"
        ": ping\rretry: 20\rdata: ✓\r\r"
        "id: 2\ndata: last\n\n"
    ).encode()
    whole, whole_proto = feed(stream)
    split, split_proto = feed(*(stream[i : i + 1] for i in range(len(stream))))
    assert split == whole == [
        SseEvent("héllo\nwörld", "chat", "1"),
        SseEvent("✓", "message", "1"),
        SseEvent("last", "message", "2"),
    ]
    assert split_proto.retry_ms == whole_proto.retry_ms == 20


def test_reset_keeps_id_and_retry_but_drops_the_partial_event():
    proto = SseProtocol()
    proto.receive_data(b"retry: 10\nid: 3\ndata: a\n\ndata: partial")
    proto.reset()
    assert proto.receive_data(b"data: b\n\n") == [SseEvent("b", id="3")]
    assert proto.retry_ms == 10


OPENAI = (
    b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
    b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("at", range(len(OPENAI) + 1))
def test_openai_framing_split_at_any_position_gives_the_same_four_events(at: int):
    events, _ = feed(OPENAI[:at], OPENAI[at:])
    assert [e.data for e in events] == [
        '{"choices":[{"delta":{"role":"assistant"}}]}',
        '{"choices":[{"delta":{"content":"Hi"}}]}',
        '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
        "[DONE]",
    ]


def test_done_is_dispatched_only_at_its_blank_line():
    proto = SseProtocol()
    assert proto.receive_data(b"data: [DONE]\n") == []
    assert proto.receive_data(b"\n") == [SseEvent("[DONE]")]
