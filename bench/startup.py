"""Start-up time: what horde costs a command that does little, and a pytest run that never
uses it (docs/benchmarks.md, "Start-up: horde --help and the pytest plugin").

    .venv/bin/python bench/startup.py -n 20                                # this checkout
    .venv/bin/python bench/startup.py -n 20 --src /tmp/before/src --src /tmp/after/src

Every case is a fresh child process, timed on the wall clock from start to exit. A round
runs each case once per ``--src`` (each on ``PYTHONPATH``, ahead of the venv's own horde),
alternating, so a busy second slows every build alike; the medians of ``-n`` rounds are
printed as a markdown table and appended to bench/results/runs.jsonl (``kind: startup``, one
line per ``--src``, with its commit), which docs/benchmarks.md's start-up table is made from
(``bench/tables.py``). The cases:

- ``pytest --co -q`` on a folder holding one test, with horde's plugin (found by its entry
  point, as on any machine horde is installed on) and with ``-p no:horde``: the difference
  is what horde adds to every pytest run;
- ``horde --help``, ``horde run missing.py`` and ``horde run x.py --users -1`` (a scenario
  that loads, a flag that is refused): commands that must answer at once;
- ``horde run x.py --iterations 1``: a whole run of a scenario that does nothing, which is
  what start-up adds to every run (and to the CPU a short benchmark run counts).

Bytecode caches are written and used, as an installed horde has them (pip compiles them);
``--no-bytecode`` keeps none, so every import compiles its source.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import runlog

BIN = Path(sys.executable).parent
SCENARIO = "import horde\n\n\n@horde.behaviour\nasync def work(user):\n    pass\n"
# name → (argv after the executable's folder, exit code it must end with)
CASES: dict[str, tuple[list[str], int]] = {
    "pytest --co -q (with horde's plugin)": (["pytest", "--co", "-q"], 0),
    "pytest --co -q -p no:horde": (["pytest", "--co", "-q", "-p", "no:horde"], 0),
    "horde --help": (["horde", "--help"], 0),
    "horde run missing.py": (["horde", "run", "missing.py", "-t", "http://127.0.0.1:9"], 2),
    "horde run x.py --users -1": (
        ["horde", "run", "x.py", "-t", "http://127.0.0.1:9", "--users", "-1"], 2),
    # a whole run that does nothing: start-up, one empty iteration, results written (exit
    # 1: no operation was timed, so no verdict can pass); what every short run pays
    "horde run x.py --iterations 1": (
        ["horde", "run", "x.py", "-t", "http://127.0.0.1:9", "--iterations", "1", "-q",
         "--no-history", "--out", "out"], 1),
}


def timed(argv: list[str], code: int, cwd: Path, env: dict[str, str]) -> float:
    """Seconds from start to exit; a case that ends otherwise than expected stops the
    measurement (a broken case must not be timed as a fast one)."""
    began = time.perf_counter()
    done = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != code:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}, not {code}\n{done.stderr}")
    return elapsed


def environment(src: Path, bytecode: bool) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def measure(srcs: list[Path], rounds: int, bytecode: bool) -> dict[tuple[str, Path], list[float]]:
    times: dict[tuple[str, Path], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_one.py").write_text("def test_one():\n    pass\n")
        (folder / "x.py").write_text(SCENARIO)
        envs = {src: environment(src, bytecode) for src in srcs}
        for src in srcs:  # a first run of each: caches written, files in the page cache
            for argv, code in CASES.values():
                timed(argv, code, folder, envs[src])
        for _ in range(rounds):
            for name, (argv, code) in CASES.items():
                for src in srcs:
                    times.setdefault((name, src), []).append(timed(argv, code, folder, envs[src]))
    return times


def table(times: dict[tuple[str, Path], list[float]], srcs: list[Path]) -> str:
    head = "| case | " + " | ".join(str(s) for s in srcs) + " |"
    lines = [head, "|---|" + "---:|" * len(srcs)]
    for name in CASES:
        cells = [f"{statistics.median(times[name, s]) * 1000:.0f} ms" for s in srcs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    plugin = [statistics.median(times[next(iter(CASES)), s])
              - statistics.median(times["pytest --co -q -p no:horde", s]) for s in srcs]
    lines.append("| the plugin adds | " + " | ".join(f"{p * 1000:+.0f} ms" for p in plugin)
                 + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--rounds", type=int, default=15)
    parser.add_argument("--src", action="append", type=Path, default=[],
                        help="a horde src/ folder to measure (repeatable; default ./src)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="no .pyc caches: every import compiles its source")
    args = parser.parse_args()
    srcs = [s.resolve() for s in args.src] or [Path("src").resolve()]
    times = measure(srcs, args.rounds, not args.no_bytecode)
    print(f"medians of {args.rounds} rounds, bytecode {'off' if args.no_bytecode else 'on'}")
    print(table(times, srcs))
    session = runlog.new_session()
    runlog.append(
        runlog.record(session, "startup", "startup", "horde",
                      {name: round(statistics.median(times[name, src]) * 1000, 1)
                       for name in CASES},
                      settings={"rounds": args.rounds, "bytecode": not args.no_bytecode,
                                "order": i},
                      src=str(src))
        for i, src in enumerate(srcs)
    )
    print(f"recorded as session {session} in {runlog.RUNS}")


if __name__ == "__main__":
    main()
