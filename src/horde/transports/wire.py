"""Bytes as the network saw them: one TCP connection's totals, from the kernel.

Payload is what horde's protocols hand over (a WebSocket message, an HTTP body); the wire
carries more — handshakes, HTTP headers, frame headers, TLS records. Rather than rebuild
each of those byte by byte, horde asks the kernel once per connection, as it closes
(``TCP_INFO``, Linux 4.19+), which is
exact and costs nothing per message: ``tcpi_bytes_sent`` less retransmissions plus what is
still queued, and ``tcpi_bytes_received`` less the peer's FIN, which the kernel counts as
a byte of sequence space.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

_TCP_INFO = getattr(socket, "TCP_INFO", None)
_LENGTH = 216  # through tcpi_bytes_retrans (Linux 4.19+)
_RECEIVED_AT = 128  # tcpi_bytes_received (u64)
_NOTSENT_AT = 144  # tcpi_notsent_bytes (u32): written, still queued in the kernel
_SENT_AT = 200  # tcpi_bytes_sent, then tcpi_bytes_retrans (u64 each)
_TIME_WAIT, _CLOSE_WAIT, _LAST_ACK, _CLOSING = 6, 8, 9, 11
_PEER_FIN = frozenset({_TIME_WAIT, _CLOSE_WAIT, _LAST_ACK, _CLOSING})  # its FIN came in


def tcp_bytes(transport: Any) -> tuple[int, int] | None:
    """(sent, received) TCP payload bytes of ``transport``'s socket so far; None where the
    kernel cannot say (not Linux 4.19+, not TCP, socket already gone). Sent counts what
    was transmitted (retransmissions once) plus what is still queued to go."""
    if _TCP_INFO is None or transport is None:
        return None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _LENGTH)
    except (OSError, AttributeError, ValueError):
        return None
    if len(info) < _LENGTH:
        return None
    (received,) = struct.unpack_from("Q", info, _RECEIVED_AT)
    (queued,) = struct.unpack_from("I", info, _NOTSENT_AT)
    sent, retransmitted = struct.unpack_from("QQ", info, _SENT_AT)
    received -= info[0] in _PEER_FIN  # the kernel counts a received FIN as one byte
    return sent - retransmitted + queued, max(received, 0)
