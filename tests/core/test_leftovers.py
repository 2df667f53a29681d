"""What a finished phase leaves behind is kept until the process ends only where it ends with
``os._exit`` (bmad.core.leftovers). Each case runs in a fresh interpreter: the switch is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = """
import gc, weakref
from bmad.core import leftovers

class Prepared:  # what a plugin holds: a parsed bundle, a report
    pass

def finish_phase():
    prepared = Prepared()
    leftovers.keep_until_exit(prepared)
    return weakref.ref(prepared)

{switch}
alive = finish_phase()
gc.collect()
print(leftovers.kept(), alive() is not None)
"""


def _run(switch: str) -> str:
    code = textwrap.dedent(SCRIPT.format(switch=switch))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_a_process_that_calls_bmad_frees_a_phases_leftovers_as_before() -> None:
    assert _run("") == "0 False"


def test_the_console_scripts_process_keeps_them_until_it_ends() -> None:
    assert _run("leftovers.process_ends_with_exit()") == "1 True"


def test_the_console_script_sets_the_switch() -> None:
    """``bmad`` (the console script) ends with os._exit, so it keeps them: its entry point says so
    before the command runs."""
    code = (
        "import sys; sys.argv = ['bmad', 'version']\n"
        "import bmad.cli.main as m\n"
        "try:\n    m.run()\nexcept SystemExit:\n    pass\n"
    )
    # run() ends the process with os._exit: ask the module from a hook that runs first
    hooked = "import atexit, bmad.core.leftovers as l\natexit.register(lambda: print('switch', l.keeping()))\n"
    done = subprocess.run(
        [sys.executable, "-c", hooked + code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "switch True" in done.stdout, done.stderr
