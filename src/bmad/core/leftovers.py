"""What a finished phase leaves behind, freed when the process ends rather than one object at a time.

A phase's plugin holds what it prepared: for ANALYZE the parsed bundle (every object's data and YAML
nodes) and the readiness report. When the phase ended, reference counting freed them one object at
a time: ~33 ms of a 1,000-object ANALYZE (about 7 % of the command), in the middle of the run, before
the phase was recorded. The console script ends with ``os._exit`` (``bmad.cli.main``), which frees a
process's memory all at once, so there it keeps them instead (a few tens of MB for 1,000 objects,
held until the command ends; a ``bmad run`` holds each of its four phases'). A process that imports
bmad and calls it frees them as before: :func:`keep_until_exit` keeps nothing until
:func:`process_ends_with_exit` was called.
"""

from __future__ import annotations

_kept: list[object] = []
_ends_with_exit = False


def process_ends_with_exit() -> None:
    """This process ends with ``os._exit``: what :func:`keep_until_exit` is handed is kept."""
    global _ends_with_exit  # one switch for the process, set by its entry point
    _ends_with_exit = True


def keep_until_exit(value: object) -> None:
    """Keep ``value`` alive until the process ends, where it ends with ``os._exit``; else let it go."""
    if _ends_with_exit:
        _kept.append(value)


def keeping() -> bool:
    """Whether :func:`keep_until_exit` keeps what it is handed in this process."""
    return _ends_with_exit


def kept() -> int:
    """How many values are kept."""
    return len(_kept)
