"""`bmad --help` wall time vs `python -c pass` (same interpreter), median of N runs.

    .venv/bin/python bench/cli_help.py [-n 21]

Measures the installed `bmad` entry point three ways: the cached help fast path (what users get
from the second call on), the full Typer/Rich path (BMAD_NO_HELP_CACHE=1), and Python's bare
start-up. Goal: <= 3x python, <= 0.25 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_seconds(argv: list[str], env: dict[str, str], n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=21)
    args = parser.parse_args()
    bmad = shutil.which("bmad", path=str(Path(sys.executable).parent)) or "bmad"
    with tempfile.TemporaryDirectory(prefix="bmad-help-bench-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        env.pop("BMAD_NO_HELP_CACHE", None)
        python = median_seconds([sys.executable, "-c", "pass"], env, args.n)
        subprocess.run([bmad, "--help"], env=env, stdout=subprocess.DEVNULL, check=True)  # fills the cache
        cached = median_seconds([bmad, "--help"], env, args.n)
        full = median_seconds([bmad, "--help"], {**env, "BMAD_NO_HELP_CACHE": "1"}, args.n)
    print(f"python -c pass:               {python * 1000:7.1f} ms (median of {args.n})")
    print(f"bmad --help (cached):         {cached * 1000:7.1f} ms  ratio {cached / python:4.2f}x")
    print(f"bmad --help (Typer, no cache):{full * 1000:7.1f} ms  ratio {full / python:4.2f}x")
    verdict = "met" if cached / python <= 3 and cached <= 0.25 else "NOT met"
    print(f"goal <= 3x and <= 250 ms: {verdict} with the cache; the uncached Typer path is {full / python:.1f}x")


if __name__ == "__main__":
    main()
