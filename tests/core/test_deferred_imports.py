"""The stand-in of bmad.core.deferred_imports, in a fresh interpreter (pytest has imported inspect)."""

from __future__ import annotations

import subprocess
import sys

RACE = """
import sys, threading
from bmad.core.deferred_imports import defer
defer()
stand_in = sys.modules["inspect"]
barrier = threading.Barrier(8)
found = []
def read():
    barrier.wait()
    found.append(stand_in.signature(len) is not None and stand_in.Parameter.POSITIONAL_ONLY is not None)
threads = [threading.Thread(target=read) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
import inspect
print(len(found), all(found), "signature" in vars(stand_in), inspect is not stand_in, type(inspect).__name__)
"""


def test_threads_reading_the_stand_in_at_once_all_get_the_whole_module() -> None:
    """Guards against CPython 3.11's LazyLoader race (a second thread reads a half-run module): eight
    threads read the stand-in at once and all get whole functions; the real module then replaces the
    stand-in in sys.modules, and its names are in the stand-in's own dict (no per-read hook left)."""
    out = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["8", "True", "True", "True", "module"]


def test_a_module_imported_already_is_left_alone() -> None:
    code = (
        "import inspect, sys\n"
        "from bmad.core.deferred_imports import defer\n"
        "defer()\n"
        "print(sys.modules['inspect'] is inspect)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
