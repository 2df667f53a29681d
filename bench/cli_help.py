"""`bmad --help` and every `bmad <command> --help` wall time vs `python -c pass` (same interpreter).

    .venv/bin/python bench/cli_help.py [-n 11]

Runs the installed `bmad` entry point (no help cache exists: the command line is argparse with
commands loaded lazily). Every variant runs in turn, n rounds, so all see the same machine load;
each figure is a median: wall time, and the child's CPU time (user + system), which a loaded
machine disturbs less. Goal: every help <= 3x `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bmad.cli.main import COMMANDS


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved_medians(variants: list[list[str]], n: int) -> list[tuple[float, float]]:
    """Median wall and CPU time per variant, the variants run in turn so they all see the same load."""
    samples: list[list[tuple[float, float]]] = [[] for _ in variants]
    for _ in range(n):
        for index, argv in enumerate(variants):
            samples[index].append(timed(argv))
    return [(statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)) for runs in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=11)
    args = parser.parse_args()
    bmad = shutil.which("bmad", path=str(Path(sys.executable).parent)) or "bmad"
    helps = [[bmad, "--help"], *([bmad, name, "--help"] for name, _, _ in COMMANDS)]
    (python, python_cpu), *figures = interleaved_medians([[sys.executable, "-c", "pass"], *helps], args.n)
    print(f"{'python -c pass':<26} {python * 1000:7.1f} ms wall {python_cpu * 1000:6.1f} ms CPU (medians of {args.n})")
    for argv, (wall, cpu) in zip(helps, figures, strict=True):
        label = " ".join(["bmad", *argv[1:]])
        relative = f"{wall / python:4.2f}x  {cpu * 1000:6.1f} ms CPU {cpu / python_cpu:4.2f}x"
        print(f"{label:<26} {wall * 1000:7.1f} ms {relative}")
    walls = [wall / python for wall, _ in figures]
    cpus = [cpu / python_cpu for _, cpu in figures]
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for what, ratios in (("wall", walls), ("CPU", cpus)):
        verdict = "met" if max(ratios) <= 3 else "NOT met"
        spread = f"worst {max(ratios):.2f}x, median {statistics.median(ratios):.2f}x"
        print(f"goal every help <= 3x python ({what}): {verdict} ({spread})")


if __name__ == "__main__":
    main()
