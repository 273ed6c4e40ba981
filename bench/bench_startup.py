"""How fast the CLI starts: ``syndication --help`` and ``status`` against a bare interpreter.

Issue 13's goals: ``--help`` at most 10 times and ``status`` at most 25 times the time of
``python -c pass``. Each command runs ``--runs`` times; the best run counts (the least
disturbed by whatever else the machine is doing), and the median is shown beside it.

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


def timed(command: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    samples = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


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
        bare, bare_median = timed([sys.executable, "-c", "pass"], cwd, options.runs)
        print(f"{'command':<24} {'best ms':>8} {'median ms':>10} {'x bare':>7} {'goal':>5}")
        print(f"{'python -c pass':<24} {bare * 1000:>8.1f} {bare_median * 1000:>10.1f}")
        for name, args, goal in (
            ("syndication --help", [syndication, "--help"], 10),
            ("syndication status", [syndication, "status"], 25),
        ):
            best, median = timed(args, cwd, options.runs)
            print(
                f"{name:<24} {best * 1000:>8.1f} {median * 1000:>10.1f} "
                f"{best / bare:>7.1f} {goal:>5}"
            )


if __name__ == "__main__":
    main()
