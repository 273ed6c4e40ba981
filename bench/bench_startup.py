"""How fast the CLI starts: ``syndication --help`` and ``status`` against a bare interpreter.

Goals: ``--help`` at most 10 times (issue 13) and ``status`` at most 20 times (issue 24,
once it reads the one status report; 25 in issue 13) the time of ``python -c pass``.
Each command runs ``--runs`` times; the best run counts (the least disturbed by whatever
else the machine is doing), and the median is shown beside it. The commands take turns
with the bare interpreter, run by run, so that a burst of load elsewhere on the machine
weighs on all of them alike. Each command first runs once untimed with
``PYTHONDONTWRITEBYTECODE`` dropped, so that Python's bytecode caches exist, as they do
in an installed copy (pip compiles them); without them every run compiles the package.

    .venv/bin/python bench/bench_startup.py [--runs 15]
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

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed_in_turns(commands: list[list[str]], cwd: Path, runs: int) -> list[list[float]]:
    """Each command's run times (seconds), the commands taking turns ``runs`` times."""
    samples: list[list[float]] = [[] for _ in commands]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SYNDICATION_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    for command in commands:
        subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    for _ in range(runs):
        for command, times in zip(commands, samples, strict=True):
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        syndication = str(BIN / "syndication")
        subprocess.run([syndication, "init"], cwd=cwd, check=True, capture_output=True)
        subprocess.run(
            [syndication, "articles", "import", str(ROOT / "examples" / "news.jsonl")],
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], 0),
            "syndication --help": ([syndication, "--help"], 10),
            "syndication status": ([syndication, "status"], 20),
        }
        samples = timed_in_turns([args for args, _ in commands.values()], cwd, options.runs)
        bare = min(samples[0])
        print(f"{'command':<24} {'best ms':>8} {'median ms':>10} {'x bare':>7} {'goal':>5}")
        for (name, (_, goal)), runs in zip(commands.items(), samples, strict=True):
            best, median = min(runs), statistics.median(runs)
            ratio = f"{best / bare:>7.1f} {goal:>5}" if goal else ""
            print(f"{name:<24} {best * 1000:>8.1f} {median * 1000:>10.1f} {ratio}")


if __name__ == "__main__":
    main()
