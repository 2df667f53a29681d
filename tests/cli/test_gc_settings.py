"""The console script collects garbage less often and freezes what it made while starting; a process
that calls ``main`` itself (a test runner, a library user) keeps its own collector settings."""

from __future__ import annotations

import gc
import subprocess
import sys

from bmad.cli.main import main

CONSOLE = """
import gc, sys
before = gc.get_freeze_count()
from bmad.cli import main as cli
cli._collect_less()
code = cli.main(["version"], own_process=True)
print(code, gc.get_threshold()[0], gc.get_freeze_count() > before + 1000)
"""


def test_the_console_script_collects_every_10000_and_freezes_its_start() -> None:
    out = subprocess.run([sys.executable, "-c", CONSOLE], capture_output=True, text=True, check=True).stdout
    assert out.split()[-3:] == ["0", "10000", "True"]


def test_main_called_in_a_process_leaves_its_collector_alone() -> None:
    """Guards a test run: freezing there would keep every test's garbage cycles (and their open
    files) for the rest of the session."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert main(["version"]) == 0
    assert gc.get_threshold() == threshold
    # nothing was frozen (a frozen object that is freed meanwhile lowers the count: another test froze some)
    assert gc.get_freeze_count() <= frozen
