"""Source ports: how many connections one source address can open quickly, and at all.

Every connection to one target address and port takes a port of the machine's ephemeral
range (``net.ipv4.ip_local_port_range``, 32768–60999 by default: 28,232 ports) on its
source address. The kernel hands them out from one half of the range first; once that
half is used, every connect searches the whole range for a free port. Measured here
(``bench/source_ports.py``, Linux 6.18, 2 cores, ``bind`` then ``connect`` from one
address): 28–30 µs of CPU per connect up to 12,000 connections, 3.3–3.6 ms past 14,000 —
a hundred times more, and the opens per second fall with it. Past the whole range,
connects fail with ``Cannot assign requested address``. (horde binds those sockets
itself: with ``SO_REUSEADDR``, which uvloop's own bind sets, the fast part is a quarter
of the range; see :mod:`horde.transports.local_addresses`.)

So before any load, when the plan's peak puts more than half the range on each source
address, one warning line says so and how many addresses ``--local-ips`` should give. A
user holds at least one connection to the target, so the peak users are a lower bound
of what is needed. Workers on this machine share its ports; on a Ray cluster each node
has its own, and the check is left out.

:func:`plan_ports` decides (pure: numbers in, numbers out); :func:`check_source_ports`
reads the range and the plan and logs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from horde.engine.limits import peak_users
from horde.shapes.plan import Plan
from horde.transports.local_addresses import expand

log = logging.getLogger("horde")

PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@dataclass(frozen=True, slots=True)
class SourcePorts:
    """Ports per source address the plan needs at its peak, against the ephemeral range."""

    addresses: int
    ports: int  # the size of the ephemeral range
    needed: int  # connections at the plan's peak: one per user, a lower bound

    @property
    def per_address(self) -> int:
        """Connections each source address carries at the peak."""
        return math.ceil(self.needed / self.addresses)

    @property
    def fast(self) -> int:
        """Connections one address opens before each connect costs a search of the range."""
        return self.ports // 2

    @property
    def slow(self) -> bool:
        """Past half the range on each address: connects cost the kernel ~100× more."""
        return self.per_address > self.fast

    @property
    def short(self) -> bool:
        """Past the whole range: connects fail."""
        return self.per_address > self.ports

    @property
    def addresses_wanted(self) -> int:
        """Source addresses that keep every one within its fast half."""
        return math.ceil(self.needed / max(self.fast, 1))


def plan_ports(needed: int, addresses: int, ports: int) -> SourcePorts:
    """What ``needed`` connections over ``addresses`` source addresses (0: the system's
    one) ask of an ephemeral range of ``ports`` ports."""
    return SourcePorts(addresses=max(addresses, 1), ports=ports, needed=needed)


def ephemeral_ports(path: Path = PORT_RANGE) -> int | None:
    """The size of this machine's ephemeral port range; None where it cannot be read."""
    try:
        low, high = (int(p) for p in path.read_text().split())
    except (OSError, ValueError):
        return None
    return high - low + 1


def check_source_ports(plan: Plan, local_ips: tuple[str, ...], on_cluster: bool,
                       path: Path = PORT_RANGE) -> SourcePorts | None:
    """Warn in one line, with the fix, when the plan's peak puts more than half the
    ephemeral range on each source address. None when not checked: a Ray cluster, an
    unknown peak, or no readable range (not Linux)."""
    needed = peak_users(plan)
    ports = ephemeral_ports(path)
    if on_cluster or needed is None or ports is None:
        return None
    found = plan_ports(needed, len(expand(local_ips)) if local_ips else 0, ports)
    if found.slow:
        now = f"{found.addresses:,} source address" + ("es" if found.addresses > 1 else "")
        what = ("connects past them fail with 'Cannot assign requested address'"
                if found.short else "connects past half of them cost the kernel about "
                "100 times more CPU each (its search for a free port)")
        log.warning("source ports: this run may hold about %s connections to the target "
                    "on %s, %s each; the ephemeral range has %s ports and %s; give at "
                    "least %s addresses with --local-ips (docs/scaling.md)",
                    f"{found.needed:,}", now, f"{found.per_address:,}", f"{found.ports:,}",
                    what, f"{found.addresses_wanted:,}")
    return found
