"""Which hosts horde may connect to: ``--allow-hosts`` and ``--deny-hosts``.

A load tester pointed at the wrong address is a denial-of-service tool, so every
connection horde opens — HTTP (each redirect hop too), WebSocket, Socket.IO on either
transport, SSE — asks the run's :class:`HostPolicy` first, before any packet goes to the
host. The rules are:

* a rule is a CIDR (``10.0.0.0/8``, ``fd00::/8``, a bare address) matched on every
  address the host name resolves to, or a hostname glob (``*.internal``, ``db-?``,
  case-insensitive, ``fnmatch`` syntax) matched on the name as written;
* deny wins: a name matching a deny glob, or *any* resolved address in a deny CIDR, is
  refused (so a name that resolves to a public and a private address is refused too);
* with an allow list, the name must match an allow glob or *every* resolved address must
  be in an allow CIDR;
* no rules: everything is allowed and nothing extra is resolved (the default costs nothing).

:meth:`HostPolicy.check` is pure (a table of cases tests it). The I/O half —
:func:`guard_host` resolving a name before a WebSocket or aiohttp connects,
:func:`check_addresses` for the HTTP pool that resolves by itself — raises
:class:`~horde.errors.BlockedHostError`, which the transports count as a failed connect
under ``blocked_host``. The policy of the running load lives in a context variable the
runner sets (:func:`use_policy`), so the transports need no extra argument threaded
through every constructor.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from horde.errors import BlockedHostError, ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_GLOB = re.compile(r"^[a-z0-9*?\[\]!_.-]+$")


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Allow and deny rules, parsed. Build one with :meth:`parse`."""

    allow_globs: tuple[str, ...] = ()
    allow_nets: tuple[Network, ...] = ()
    deny_globs: tuple[str, ...] = ()
    deny_nets: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> HostPolicy:
        """Rules as given on the command line (items, each maybe a comma list)."""
        allow_globs, allow_nets = _split_rules(allow, "--allow-hosts")
        deny_globs, deny_nets = _split_rules(deny, "--deny-hosts")
        return cls(allow_globs, allow_nets, deny_globs, deny_nets)

    @property
    def open(self) -> bool:
        """No rule at all: every host is allowed, nothing is resolved for the policy."""
        return not (self.allow_globs or self.allow_nets or self.deny_globs or self.deny_nets)

    @property
    def needs_address(self) -> bool:
        """A CIDR rule exists, so a host name must be resolved before it can be judged."""
        return bool(self.allow_nets or self.deny_nets)

    def check(self, host: str, ip: str | None = None) -> str | None:
        """Why connecting to ``host`` (resolved to ``ip``, if known) is refused, or None.

        ``ip`` None means "not resolved": only name rules apply (an IP literal ``host``
        is its own address). The reason reads as the end of a sentence: ``10.1.2.3 is
        denied by --deny-hosts 10.0.0.0/8``.
        """
        name = host.strip("[]").rstrip(".").lower()
        addr = _address(ip) if ip is not None else _address(name)
        shown = name if ip is None or ip == name else f"{name} ({ip})"
        for glob in self.deny_globs:
            if fnmatch.fnmatchcase(name, glob):
                return f"{shown} is denied by --deny-hosts {glob}"
        if addr is not None:
            for net in self.deny_nets:
                if addr in net:
                    return f"{shown} is denied by --deny-hosts {net}"
        if not (self.allow_globs or self.allow_nets):
            return None
        if any(fnmatch.fnmatchcase(name, glob) for glob in self.allow_globs):
            return None
        if addr is not None and any(addr in net for net in self.allow_nets):
            return None
        if addr is None and self.allow_nets and ip is None:
            return None  # undecided until resolved: guard_host resolves and asks again
        rules = ",".join([*self.allow_globs, *map(str, self.allow_nets)])
        return f"{shown} is not in --allow-hosts {rules}"


OPEN = HostPolicy()
_CURRENT: ContextVar[HostPolicy] = ContextVar("horde_host_policy", default=OPEN)


def current_policy() -> HostPolicy:
    return _CURRENT.get()


@contextlib.contextmanager
def use_policy(policy: HostPolicy) -> Iterator[None]:
    """Make ``policy`` the one every connection opened in this context (and the tasks it
    starts) obeys."""
    token = _CURRENT.set(policy)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check_addresses(host: str, addresses: Iterable[Any]) -> None:
    """Raise BlockedHostError unless ``host`` and each of its resolved ``addresses`` (strings or
    ``(family, address)`` pairs) pass the current policy. For callers that resolve."""
    policy = _CURRENT.get()
    if policy.open:
        return
    _refuse(host, policy.check(host))
    if policy.needs_address:
        for item in addresses:
            _refuse(host, policy.check(host, item[1] if isinstance(item, tuple) else item))


async def guard_host(host: str, port: int | None = None) -> None:
    """Raise BlockedHostError unless the current policy lets us connect to ``host``; resolves
    the name only when a CIDR rule needs its addresses."""
    policy = _CURRENT.get()
    if policy.open:
        return
    _refuse(host, policy.check(host))
    if policy.needs_address and _address(host.strip("[]")) is None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return  # the connect's own lookup fails and is counted as dns_failure
        for info in infos:
            _refuse(host, policy.check(host, str(info[4][0])))


async def guard_url(url: str) -> None:
    """:func:`guard_host` for the host of ``url`` (not even parsed without a rule: this
    runs before every connect)."""
    if _CURRENT.get().open:
        return
    parts = urlsplit(url)
    if parts.hostname:
        await guard_host(parts.hostname, _port(parts))


def target_refusal(target: str, policy: HostPolicy) -> str | None:
    """Why the run's own target is refused (resolved now, blocking: before any load), or
    None. An unresolvable target is left to the run, which counts ``dns_failure``."""
    if policy.open:
        return None
    host = urlsplit(target).hostname or ""
    reason = policy.check(host)
    if reason is not None or not policy.needs_address or _address(host) is not None:
        return reason
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    for info in infos:
        reason = policy.check(host, str(info[4][0]))
        if reason is not None:
            return reason
    return None


def parse_rules(items: Iterable[str], flag: str) -> tuple[str, ...]:
    """The rules of one flag as a flat tuple, each checked (ConfigError names the bad one)."""
    if isinstance(items, str):
        items = [items]
    rules = tuple(r.strip() for item in items for r in item.split(",") if r.strip())
    _split_rules(rules, flag)
    return rules


def _refuse(host: str, reason: str | None) -> None:
    if reason is not None:
        raise BlockedHostError(f"connection refused by horde: {reason}", detail=host)


def _split_rules(items: Iterable[str], flag: str) -> tuple[tuple[str, ...], tuple[Network, ...]]:
    globs: list[str] = []
    nets: list[Network] = []
    for item in items:
        for raw in item.split(","):
            rule = raw.strip()
            if not rule:
                continue
            try:
                nets.append(ipaddress.ip_network(rule.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            glob = rule.rstrip(".").lower()
            if "/" in rule or not _GLOB.match(glob):
                raise ConfigError(
                    f"{flag}: bad rule {rule!r}: expected a CIDR (10.0.0.0/8), an address "
                    "or a hostname glob (*.example.com)"
                )
            globs.append(glob)
    return tuple(globs), tuple(nets)


def _address(text: str) -> Address | None:
    """``text`` as an IP address (an IPv4-mapped IPv6 one as its IPv4 self), else None."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _port(parts: Any) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None
