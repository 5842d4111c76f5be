"""Source addresses for outgoing connections: ``--local-ips``.

One machine opens at most about 28,000 connections to one target address and port from
one source address — the ephemeral port range (``net.ipv4.ip_local_port_range``), and
only about half that quickly (:mod:`horde.engine.source_ports`) — so past that,
connections must come from several source addresses. ``--local-ips`` lists
them as ranges (``127.0.0.2-127.0.0.40``), CIDRs (``10.1.0.0/24``: its host addresses) or
single addresses, comma-separated; every new TCP connection of the run — HTTP (so SSE
and streams too), WebSocket, Socket.IO on either transport — binds the next one, round
robin (bound to ``(ip, 0)``: the kernel still picks the port).

horde binds and connects those sockets itself (:func:`connect_from`) rather than passing
``local_addr`` to the loop: libuv, under uvloop, sets ``SO_REUSEADDR`` before every bind,
and with it the kernel hands out ports from only a quarter of the ephemeral range before
it searches the whole range on every connect. Measured (``bench/source_ports.py``, one
address): with ``SO_REUSEADDR`` a connect cost 31–38 µs of CPU up to 6,000 connections
and 0.9–1.8 ms from 6,000 on; without it 28–30 µs up to 12,000. So an address opens
about twice as many connections quickly: 100,000 on 8 addresses and 7 workers opened at
1,330 a second, where with uvloop's bind they slowed to ~200 a second past ~57,000.

:func:`parse_local_ips` is pure: it checks the list without expanding it (a ConfigError
names the bad item). The run's chooser lives in a context variable the runner sets
(:func:`use_local_addresses`), as the host policy does, so the transports ask
:func:`local_addr` at each connect and no constructor carries it. Without a list
:func:`local_addr` is one context-variable read returning None: the loop's default.

Whether an address is assigned to this machine is not checked here: a connect from one
that is not fails as a connect error (``Cannot assign requested address``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

from horde.errors import ConfigError

MAX_ADDRESSES = 65_536  # 65,536 × ~28,000 ports is far past what one machine holds
FLAG = "--local-ips"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AddressRange:
    """Consecutive addresses ``first`` .. ``last`` (inclusive) of one IP version."""

    first: Address
    last: Address

    @property
    def size(self) -> int:
        """How many addresses the range holds."""
        return int(self.last) - int(self.first) + 1

    def addresses(self) -> Iterator[str]:
        """Each address of the range, in order, as text."""
        first = int(self.first)
        for n in range(self.size):
            yield str(ipaddress.ip_address(first + n))


def parse_local_ips(items: Iterable[str] | str, flag: str = FLAG) -> tuple[str, ...]:
    """The items of ``--local-ips`` (each maybe a comma list) as a flat, checked tuple of
    specs. ConfigError for a bad address, a backwards range, IPv4 mixed with IPv6, an
    address no connection can come from, or more than MAX_ADDRESSES in all."""
    if isinstance(items, str):
        items = [items]
    specs = tuple(s.strip() for item in items for s in item.split(",") if s.strip())
    parse_ranges(specs, flag)
    return specs


def parse_ranges(specs: Iterable[str], flag: str = FLAG) -> tuple[AddressRange, ...]:
    """Specs (``A-B``, ``NET/PREFIX``, ``A``) as ranges; see :func:`parse_local_ips`."""
    ranges = tuple(_range(spec, flag) for spec in specs)
    versions = {r.first.version for r in ranges}
    if len(versions) > 1:
        raise ConfigError(f"{flag}: IPv4 and IPv6 addresses mixed; a connection's source "
                          "must have the target's IP version, so give one kind")
    total = sum(r.size for r in ranges)
    if total > MAX_ADDRESSES:
        raise ConfigError(f"{flag}: {total:,} addresses; at most {MAX_ADDRESSES:,}")
    return ranges


def check_target_version(specs: Iterable[str], target: str, flag: str = FLAG) -> None:
    """ConfigError when the target is an IP address of the other version than the
    list's: no connection could be made (a host name is resolved only when connecting)."""
    ranges = parse_ranges(specs, flag)
    if not ranges:
        return
    host = urlsplit(target).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if address.version != ranges[0].first.version:
        raise ConfigError(
            f"{flag}: IPv{ranges[0].first.version} addresses for a target at {host} "
            f"(IPv{address.version}): a connection's source must have the target's IP "
            "version")


def expand(specs: Iterable[str], flag: str = FLAG) -> tuple[str, ...]:
    """Every address the specs name, in order, each once."""
    ranges = parse_ranges(specs, flag)
    return tuple(dict.fromkeys(a for r in ranges for a in r.addresses()))


def _range(spec: str, flag: str) -> AddressRange:
    try:
        if "/" in spec:
            net = ipaddress.ip_network(spec, strict=False)
            first, last = net.network_address, net.broadcast_address
            if net.num_addresses > 2:  # its host addresses, as ``net.hosts()`` lists them
                first += 1
                if net.version == 4:
                    last -= 1  # the broadcast address; IPv6 has none
            result = AddressRange(first, last)
        elif "-" in spec:
            low, high = (ipaddress.ip_address(p.strip()) for p in spec.split("-", 1))
            if low.version != high.version:
                raise ValueError("both ends must have the same IP version")
            if high < low:  # type: ignore[operator]
                raise ValueError(f"backwards: {high} is below {low}")
            result = AddressRange(low, high)
        else:
            addr = ipaddress.ip_address(spec)
            result = AddressRange(addr, addr)
    except ValueError as exc:
        raise ConfigError(
            f"{flag}: bad item {spec!r} ({exc}); expected an address range "
            "(127.0.0.2-127.0.0.40), a CIDR (10.1.0.0/24) or an address") from None
    for end in (result.first, result.last):
        if end.is_multicast or end.is_unspecified:
            raise ConfigError(f"{flag}: {spec!r}: {end} cannot be a connection's source")
    return result


class SourceAddresses:
    """Round robin over a run's source addresses: each :meth:`take` is the next one."""

    __slots__ = ("_addrs", "_next")

    def __init__(self, addresses: Iterable[str]) -> None:
        self._addrs = tuple((a, 0) for a in addresses)  # built once: no tuple per connect
        if not self._addrs:
            raise ValueError("no source address")
        self._next = 0

    def take(self) -> tuple[str, int]:
        """``(address, 0)`` for ``loop.create_connection(local_addr=...)``."""
        i = self._next
        self._next = (i + 1) % len(self._addrs)
        return self._addrs[i]


_CURRENT: ContextVar[SourceAddresses | None] = ContextVar("horde_local_addresses",
                                                          default=None)


@contextlib.contextmanager
def use_local_addresses(specs: Iterable[str]) -> Iterator[None]:
    """Every connection opened in this context (and the tasks it starts) takes its
    source address from ``specs`` in turn; no specs: the system's choice, as always."""
    specs = tuple(specs)
    token = _CURRENT.set(SourceAddresses(expand(specs)) if specs else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def local_addr() -> tuple[str, int] | None:
    """The source address for the connection about to be opened, or None (the default)."""
    chooser = _CURRENT.get()
    return None if chooser is None else chooser.take()


async def connect_from(source: tuple[str, int], host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``source`` (without ``SO_REUSEADDR``: see the module
    docstring) and connected to ``(host, port)``, for ``create_connection(sock=...)``.
    The loop resolves ``host`` in the source's IP version; on any failure the socket is
    closed before the error goes up."""
    family = socket.AF_INET6 if ":" in source[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.bind(source)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return sock
