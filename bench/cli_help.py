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


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def interleaved_medians(variants: list[tuple[list[str], dict[str, str]]], n: int) -> list[float]:
    """Median per variant, running the variants in turn so they all see the same machine load."""
    samples: list[list[float]] = [[] for _ in variants]
    for _ in range(n):
        for index, (argv, env) in enumerate(variants):
            samples[index].append(timed(argv, env))
    return [statistics.median(times) for times in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=21)
    args = parser.parse_args()
    bmad = shutil.which("bmad", path=str(Path(sys.executable).parent)) or "bmad"
    with tempfile.TemporaryDirectory(prefix="bmad-help-bench-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        env.pop("BMAD_NO_HELP_CACHE", None)
        subprocess.run([bmad, "--help"], env=env, stdout=subprocess.DEVNULL, check=True)  # fills the cache
        python, cached, full = interleaved_medians(
            [
                ([sys.executable, "-c", "pass"], env),
                ([bmad, "--help"], env),
                ([bmad, "--help"], {**env, "BMAD_NO_HELP_CACHE": "1"}),
            ],
            args.n,
        )
    print(f"python -c pass:               {python * 1000:7.1f} ms (median of {args.n})")
    print(f"bmad --help (cached):         {cached * 1000:7.1f} ms  ratio {cached / python:4.2f}x")
    print(f"bmad --help (Typer, no cache):{full * 1000:7.1f} ms  ratio {full / python:4.2f}x")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    verdict = "met" if cached / python <= 3 and cached <= 0.25 else "NOT met"
    print(f"goal <= 3x and <= 250 ms: {verdict} with the cache; the uncached Typer path is {full / python:.1f}x")


if __name__ == "__main__":
    main()
