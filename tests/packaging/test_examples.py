"""Where ``horde demo`` and ``horde examples`` find the example scenarios: in the package,
unless ``$HORDE_EXAMPLES`` names another folder (tests, edited copies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from horde.demo.launcher import copy_examples, example_files, example_path, examples_dir
from horde.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_examples_folder_is_the_packaged_one() -> None:
    assert (ROOT / "examples").resolve() == examples_dir()
    assert Path("data/chatbot_questions.json") in example_files()


def test_a_file_in_the_working_directory_is_not_taken_for_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HORDE_EXAMPLES", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "echo.py").write_text("raise SystemExit('not the example')\n")
    assert example_path("echo") == examples_dir() / "echo.py"


def test_horde_examples_overrides_the_packaged_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "echo.py").write_text("")
    monkeypatch.setenv("HORDE_EXAMPLES", str(tmp_path))
    assert example_path("echo") == tmp_path / "echo.py"
    with pytest.raises(UsageError, match=r"chsh\.py not found"):
        example_path("chsh")


def test_copy_refuses_before_copying_anything(tmp_path: Path) -> None:
    last = max(example_files())
    (tmp_path / last).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / last).write_text("mine\n")
    with pytest.raises(UsageError, match="already exists"):
        copy_examples(tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / last]
    assert (tmp_path / last).read_text() == "mine\n"


def test_copy_into_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a directory"):
        copy_examples(tmp_path / "file")
