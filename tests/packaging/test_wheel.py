"""horde as a user gets it: the wheel built from this checkout, installed into a fresh
virtualenv where nothing of the source tree is in reach, run from an empty folder.

An editable install hides what the wheel leaves out (the example scenarios once were), so
every demo runs here from the installed package. The dependencies come from the project's
own ``.venv`` through a ``.pth`` line (a path only: its ``__editable__`` hook is not run),
which keeps this fast and offline apart from the isolated build's setuptools.
"""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# one xdist worker runs the whole module, so its module fixture (the wheel built) runs once
pytestmark = [pytest.mark.packaging, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parents[2]

# What a checkout holds that is not source: left out of the copy the wheel is built from,
# so the build's own build/ and *.egg-info land in tmp, not in the working tree.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", "*.egg-info", "build", "dist",
    ".pytest_cache", ".ruff_cache", ".hypothesis", "horde-results", "horde-runs.sqlite*",
    "results", "out",
)

# Each demo with settings that finish in a few seconds (2 users, or the smallest roster).
DEMOS = {
    "echo": ["--users", "2", "--duration", "2s"],
    "chsh": ["--param", "teams=2", "--param", "rounds=1", "--param", "speed=20"],
    "quiz": ["--param", "players=2", "--param", "rounds=1",
             "--param", "guess_min=0.05", "--param", "guess_max=0.2"],
    "chatrooms": ["--users", "2", "--duration", "2s"],
    "chatbot": ["--users", "2", "--duration", "2s"],
    "tasks": ["--users", "2", "--duration", "2s"],
}

# A Markdown link or image target, a reference definition, an HTML href/src.
LINK_TARGETS = (
    re.compile(r"\]\(\s*<?([^)\s>]+)"),
    re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE),
    re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)"""),
)
ABSOLUTE = ("http://", "https://", "mailto:", "#")


@dataclass(frozen=True)
class Installed:
    """The fresh virtualenv with the wheel in it."""

    wheel: Path
    python: Path
    horde: Path
    site_packages: Path

    @property
    def examples(self) -> Path:
        return self.site_packages / "horde" / "examples"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    wheel = _build_wheel(tmp_path_factory.mktemp("build"))
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   env=_clean_env())
    python = venv / "bin" / "python"
    paths = json.loads(_check_output(
        [str(python), "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"]
    ))
    site_packages = Path(paths["purelib"])
    ours = sysconfig.get_paths()
    deps = dict.fromkeys([ours["purelib"], ours["platlib"]])  # the .venv's, in order, once
    (site_packages / "horde-test-deps.pth").write_text("".join(f"{p}\n" for p in deps))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", "--no-deps", "--no-index", str(wheel)],
        check=True, env=_clean_env(),
    )
    return Installed(wheel, python, Path(paths["scripts"]) / "horde", site_packages)


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--wheel-dir", str(dist), str(source)],
        check=True, env=_clean_env(),
    )
    (wheel,) = dist.glob("horde-*.whl")
    return wheel


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could point back at the checkout."""
    drop = {"PYTHONPATH", "PYTHONHOME", "HORDE_EXAMPLES", "VIRTUAL_ENV"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def _check_output(cmd: list[str], cwd: Path | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd,
                          env=_clean_env()).stdout


def _horde(installed: Installed, cwd: Path, *args: str,
           **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.horde), *args], cwd=cwd, env=_clean_env(**env),
        capture_output=True, text=True, timeout=90,
    )


def relative_links(markdown: str) -> list[str]:
    """Link targets a package index would resolve against nothing: neither absolute URLs
    nor anchors."""
    found = [m.group(1) for pattern in LINK_TARGETS for m in pattern.finditer(markdown)]
    return [target for target in found if not target.startswith(ABSOLUTE)]


def test_relative_links_are_found() -> None:
    text = ("See [a](docs/a.md), ![shot](docs/s.png \"t\") and <a href=\"x.html\">x</a>,\n"
            "[fine](https://example.com/a.md), [anchor](#usage), [ok]: http://x\n"
            "[ref]: ../docs/b.md\n")
    assert relative_links(text) == ["docs/a.md", "docs/s.png", "../docs/b.md", "x.html"]


def test_long_description_has_no_relative_links(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(wheel.read(name).decode())
    description = metadata.get_payload()
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "horde demo" in description  # the real text, not an empty or a stub one
    assert relative_links(description) == []


def test_the_wheel_not_the_checkout_is_imported(installed: Installed, tmp_path: Path) -> None:
    where = _check_output([str(installed.python), "-c", "import horde; print(horde.__file__)"],
                          cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(installed.site_packages)
    assert (installed.examples / "data" / "chatbot_questions.json").is_file()


@pytest.mark.parametrize("name", DEMOS)
def test_every_demo_runs_from_the_wheel(installed: Installed, tmp_path: Path, name: str) -> None:
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    result = _horde(installed, cwd, "demo", name, "--out", str(out), "--quiet",
                    "--no-history", *DEMOS[name])
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    results = json.loads((out / "results.json").read_text())
    assert Path(results["scenario_file"]) == installed.examples / f"{name}.py"
    assert results["status"] == "completed"
    assert results["connections"]["succeeded"] > 0
    # thresholds that time things may fail on a busy machine; the exit code must agree
    assert result.returncode == (0 if results["passed"] else 1), result.stderr


def test_examples_lists_the_packaged_files(installed: Installed, tmp_path: Path) -> None:
    result = _horde(installed, tmp_path, "examples")
    assert result.returncode == 0, result.stderr
    listed = dict(line.split() for line in result.stdout.splitlines()[1:])
    for name in [*(f"{demo}.py" for demo in DEMOS), "data/chatbot_questions.json"]:
        assert Path(listed[name]) == installed.examples / name
        assert Path(listed[name]).is_file()


def test_examples_copy_runs_and_never_overwrites(installed: Installed, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    result = _horde(installed, tmp_path, "examples", "--copy", str(mine))
    assert result.returncode == 0, result.stderr
    packaged = sorted(p.relative_to(installed.examples) for p in installed.examples.rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(p.relative_to(mine) for p in mine.rglob("*") if p.is_file()) == packaged
    for name in packaged:
        assert (mine / name).read_bytes() == (installed.examples / name).read_bytes()

    edited = (mine / "echo.py").read_text() + "# my change\n"
    (mine / "echo.py").write_text(edited)
    again = _horde(installed, tmp_path, "examples", "--copy", str(mine))
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert (mine / "echo.py").read_text() == edited

    # the copy finds its data file, and HORDE_EXAMPLES makes `horde demo` run it
    out = tmp_path / "out"
    run = _horde(installed, tmp_path, "demo", "chatbot", "--out", str(out), "--quiet",
                 "--no-history", *DEMOS["chatbot"], HORDE_EXAMPLES=str(mine))
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert json.loads((out / "results.json").read_text())["scenario_file"] == str(
        mine / "chatbot.py")
