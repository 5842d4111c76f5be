"""A scenario's lazily imported transports are imported before its load, and Socket.IO's
codecs come without python-engineio's clients and servers. Each check runs in a fresh
interpreter: what is imported is the point."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from horde.scenario.transports_needed import names_in

USES_SOCKETIO = """
import horde

async def helper(user):
    return await user.socketio()

@horde.behaviour
async def play(user):
    await helper(user)
"""
HTTP_ONLY = """
import horde

@horde.behaviour
async def get(user):
    await user.http.get("/")
"""


def fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_names_in_reads_the_names_of_nested_functions_too():
    code = compile("def f():\n    def g(u):\n        return u.socketio\n", "s.py", "exec")
    assert "socketio" in names_in(code)


def test_a_scenario_naming_socketio_has_its_transport_imported_before_the_load(tmp_path):
    for name, source, expected in (("sio.py", USES_SOCKETIO, "True"),
                                   ("http.py", HTTP_ONLY, "False")):
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        assert fresh(f"""
            import sys
            from horde.scenario.loader import load_scenario
            from horde.scenario.transports_needed import import_transports
            import_transports(load_scenario({str(path)!r}))
            print("horde.transports.socketio" in sys.modules)
        """) == expected, name


def test_the_socketio_codecs_come_without_the_packages_clients_and_servers():
    assert fresh("""
        import sys
        import horde.protocols.socketio as ours
        print("requests" in sys.modules, "engineio" in sys.modules, "socketio" in sys.modules)
        import socketio  # a scenario or a demo server may import the real package after
        print(socketio.packet.Packet is not None, callable(socketio.AsyncClient))
    """).splitlines() == ["False False False", "True True"]
