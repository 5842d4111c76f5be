"""The kernel's cost of a connect as one source address fills its ephemeral ports
(docs/scaling.md, "Half the range is the fast part"; horde/engine/source_ports.py).

    .venv/bin/python bench/source_ports.py                     # 18,000 from 127.0.0.61
    .venv/bin/python bench/source_ports.py -n 18000 --address 127.0.0.62 --no-port

A server process pinned to CPU 0 accepts and holds every connection; this process, pinned
to CPU 1, opens ``-n`` TCP connections from one source address — ``bind((address, 0))``
then ``connect``, as horde does for ``--local-ips`` — and times each block of 2,000 in CPU
time (user + system: the kernel's port search is system time). ``--reuse-addr`` sets
``SO_REUSEADDR`` first, as libuv does before every bind, so as uvloop's
``create_connection(local_addr=...)`` does; ``--no-port`` sets ``IP_BIND_ADDRESS_NO_PORT``
first, so the port is chosen at connect instead. The process may hold 20,000 descriptors
here, so ``-n`` stays below that. The blocks are printed and appended to
bench/results/runs.jsonl (``kind: ports``).

A previous run's connections linger in TIME_WAIT for 60 s and keep their ports: wait a
minute between runs, or use another address.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import runlog

from horde.engine.source_ports import ephemeral_ports

BLOCK = 2000
SERVER = """
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(4096)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
"""


def open_from(address: str, port: int, n: int, no_port: bool, reuse_addr: bool
              ) -> list[float]:
    """Connect ``n`` times from ``address``; CPU µs per connect of each block of BLOCK."""
    held, blocks = [], []
    last = time.process_time()
    for i in range(1, n + 1):
        s = socket.socket()
        if reuse_addr:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if no_port:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind((address, 0))
        s.connect(("127.0.0.1", port))
        held.append(s)
        if i % BLOCK == 0:
            now = time.process_time()
            blocks.append(round(1e6 * (now - last) / BLOCK, 1))
            last = now
    for s in held:
        s.close()
    return blocks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=18_000, help="connections (default 18,000)")
    p.add_argument("--address", default="127.0.0.61", help="the source address")
    p.add_argument("--no-port", action="store_true", help="IP_BIND_ADDRESS_NO_PORT first")
    p.add_argument("--reuse-addr", action="store_true",
                   help="SO_REUSEADDR first, as libuv (so uvloop) does before every bind")
    p.add_argument("-s", "--session", default=runlog.new_session())
    a = p.parse_args()
    os.sched_setaffinity(0, {1})
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", SERVER],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        blocks = open_from(a.address, port, a.n, a.no_port, a.reuse_addr)
    finally:
        server.kill()
    for i, us in enumerate(blocks, 1):
        print(f"connections {(i - 1) * BLOCK + 1:>6,}–{i * BLOCK:>6,}: {us:>8.1f} µs each")
    figures = {"first_block_us": blocks[0], "last_block_us": blocks[-1],
               "ports": ephemeral_ports()}
    runlog.append([runlog.record(
        a.session, "ports", "connect_from_one_address", "kernel", figures,
        settings={"n": a.n, "block": BLOCK, "no_port": a.no_port, "reuse_addr": a.reuse_addr,
                  "address": a.address},
        runs=[{"us_per_connect": blocks}], source="bench/source_ports.py")])
    print(f"session {a.session} → {runlog.RUNS}")


if __name__ == "__main__":
    main()
