"""TLS verification is on by default; ``--ca-bundle`` trusts a private certificate;
``--insecure`` skips verification and says so. Against the echo demo over real TLS, with
HTTP, WebSocket and Socket.IO (polling, then the upgrade) in one scenario."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.transports.http_servers import self_signed_cert

from horde.cli import main
from horde.errors import ConfigError
from horde.safety.tls import client_tls

from .servers import tls_echo_server

# one xdist worker runs the whole module, so its module fixture (TLS servers) runs once
pytestmark = [pytest.mark.timeout(90), pytest.mark.xdist_group("tls")]

SCENARIO = """
import horde

@horde.behaviour
async def over_tls(user):
    assert (await user.http.get("/health")).status == 200
    ws = await user.websocket("/ws")
    assert await ws.request("hi", name="ws_echo") == "hi"
    await ws.close()
    sio = await user.socketio(transports=["polling", "websocket"])
    assert await sio.call("echo", "x") == "x"
    await sio.disconnect()
"""


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tls")
    self_signed_cert(directory)
    return directory


@pytest.fixture(scope="module")
def server(cert_dir: Path) -> Iterator[str]:
    with tls_echo_server(cert_dir / "cert.pem", cert_dir / "key.pem") as port:
        yield f"https://127.0.0.1:{port}"


def _run(tmp_path: Path, target: str, *flags: str) -> tuple[int, dict, str]:
    scenario = tmp_path / "tls.py"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    code = main(["run", str(scenario), "--target", target, "--iterations", "2", "--users", "1",
                 "--quiet", "--no-history", "--timeout", "5s", "--out", str(out), *flags])
    return code, json.loads((out / "results.json").read_text()), str(out)


def test_verification_is_on_by_default(tmp_path: Path, server: str, capsys) -> None:
    _, results, _ = _run(tmp_path, server)
    assert results["errors"] == {"tls_error": 2}, results["errors"]  # each iteration's first connect
    assert results["connections"]["succeeded"] == 0
    assert "--insecure" not in capsys.readouterr().err


def test_ca_bundle_trusts_the_certificate(tmp_path: Path, server: str, cert_dir: Path,
                                          capsys) -> None:
    code, results, _ = _run(tmp_path, server, "--ca-bundle", str(cert_dir / "cert.pem"))
    assert code == 0 and results["errors"] == {}, results["errors"]
    # one keep-alive HTTP connection, then a WebSocket and a Socket.IO one per iteration
    assert results["connections"]["succeeded"] == 5
    assert "sio_upgrade_failed" not in json.dumps(results["counters"])  # the wss upgrade too
    assert "--insecure" not in capsys.readouterr().err


def test_insecure_works_and_warns(tmp_path: Path, server: str, capsys) -> None:
    code, results, _ = _run(tmp_path, server, "--insecure")
    assert code == 0 and results["errors"] == {}, results["errors"]
    err = capsys.readouterr().err
    assert "horde: warning: --insecure: TLS certificates and host names are NOT verified" in err


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_a_bad_ca_bundle_is_a_one_line_error(tmp_path: Path, capsys, content) -> None:
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_text(content)
    scenario = tmp_path / "s.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n    pass\n")
    code = main(["run", str(scenario), "--target", "https://127.0.0.1:1", "--no-history",
                 "--ca-bundle", str(bundle)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and f"--ca-bundle {bundle}" in lines[0], lines
    with pytest.raises(ConfigError):
        client_tls(bundle)
