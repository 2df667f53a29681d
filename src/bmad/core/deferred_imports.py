"""Standard modules that the ``bmad`` command imports only when something reads them.

``dataclasses`` imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``: ~8 ms on the 2-core
CI host) for one use, the docstring of a class that has none; bmad's own classes mostly have one.
:func:`defer` puts a stand-in module in ``sys.modules`` whose first attribute read imports the
real module (under a lock, so two threads asking at once both get the whole module) and hands the
attribute over; code imported later gets the real module. The stand-in is a module subclass with
``__getattr__`` (PEP 562's hook, see the ``types.ModuleType`` docs), not
``importlib.util.LazyLoader``: on Python 3.11 a second thread may read a lazy module half-executed
(CPython issue gh-114763, fixed in 3.12.3).

Only the command line calls :func:`defer`, first thing: a library user or a test runner that has
imported ``inspect`` already keeps it (nothing is replaced).
"""

from __future__ import annotations

import _thread
import os
import sys
import types

DEFERRED = ("inspect",)
# re-entered (not deadlocked) if importing the module reads a stand-in; _thread's, as `threading` and
# `importlib` are more imports on the way to `bmad --help`
_LOCK = _thread.RLock()


def _new_lock_in_child() -> None:
    """A child forked while another thread imported gets a free lock (:mod:`bmad.core.aside`)."""
    global _LOCK
    _LOCK = _thread.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


class _Deferred(types.ModuleType):
    """Stands in for a module not yet imported; the first attribute read imports it."""

    def __getattr__(self, name: str) -> object:
        return getattr(_real(self), name)

    def __dir__(self) -> list[str]:
        return dir(_real(self))


def _real(stand_in: _Deferred) -> types.ModuleType:
    """The real module, imported once; its names are copied into the stand-in (one C-level dict
    update under the GIL), so a module that holds the stand-in reads them at normal speed after."""
    with _LOCK:
        if sys.modules.get(stand_in.__name__) is stand_in:
            del sys.modules[stand_in.__name__]
        __import__(stand_in.__name__)
        real = sys.modules[stand_in.__name__]
        stand_in.__dict__.update(real.__dict__)
        return real


def defer(names: tuple[str, ...] = DEFERRED) -> None:
    """Put a stand-in in ``sys.modules`` for each of ``names`` not imported yet."""
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = _Deferred(name)
