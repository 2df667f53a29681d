"""The command's compiled regular expressions, kept between runs in the user's cache.

CPython compiles a pattern in two steps: ``re._compiler.compile`` parses it and generates its
program in pure Python (from 0.1 ms to 9 ms a pattern: PyYAML's test for printable text alone is
6-9 ms on the 2-core CI host), then hands ``_sre.compile`` the pattern, its flags, the program (a
list of ints), the group count and the group names, which make the ``re.Pattern``. A phase of one
no-op check compiled 45 patterns (13 ms) and an ANALYZE of the example 87 (30 ms), the same ones
every run. :func:`install` keeps the second step's arguments in a file, so a pattern met before is
made by ``_sre.compile`` alone.

What is kept: only patterns compiled where a module or class is defined (the calling code is not
a function's: not ``CO_OPTIMIZED``), which are constants of bmad's and its libraries' source. A
pattern built at run time from data (a glob from ``bmad.yaml``, a value escaped into a pattern)
is never written. The file is the user's alone (read only when the file and its folder are the
user's uid's with no group or other bits, as :func:`bmad.core.files.read_owner_only` checks), named
after the interpreter's version and ``_sre.MAGIC`` (the program's format), and ``_sre.compile``
checks every program it is given (an invalid one raises ``RuntimeError``; it is then compiled again).

Only the console script installs it (:func:`bmad.cli.main.main` with ``own_process``, once a command,
not ``--help``, is parsed): a library user or a test runner that imports bmad keeps ``re`` as it is.
"""

from __future__ import annotations

import _thread
import atexit
import marshal
import re
import sys
from pathlib import Path
from typing import Any

from bmad.core.files import read_owner_only, user_cache_dir, write_atomic

_compiler: Any = getattr(re, "_compiler")  # noqa: B009 - CPython's compiler module (no type stubs)
_sre: Any = _compiler._sre

MAX_ENTRIES = 1_000  # over this, only the patterns this run used are kept
_CO_OPTIMIZED = 0x0001  # the flag of a function's code; module and class bodies lack it (`inspect` docs)
_DEBUG = _compiler.SRE_FLAG_DEBUG  # compiling prints the program: never served from the file
_RE_MODULES = frozenset({"re", "re._compiler"})  # re.compile's own frames

Key = tuple[bool, "str | bytes", int]


class _State:
    def __init__(self, path: Path, entries: dict[Key, tuple[Any, ...]], original: Any) -> None:
        self.path = path
        self.entries = entries
        self.original = original  # re._compiler.compile as CPython made it
        self.used: set[Key] = set()
        self.hits = 0
        self.misses = 0
        self.added = 0


_state: _State | None = None
_captured = _thread._local()  # the arguments of the _sre.compile call the current thread made last


class _RecordingSre:
    """``_sre`` as ``re._compiler`` sees it: ``compile`` notes its arguments for this thread."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def compile(self, pattern: Any, *args: Any) -> Any:
        compiled = self._real.compile(pattern, *args)
        _captured.args = args
        return compiled


def cache_file() -> Path:
    """Where this interpreter's programs are kept."""
    tag = f"{sys.implementation.cache_tag}-{sys.hexversion:x}-{_sre.MAGIC}"
    return user_cache_dir() / f"regex-{tag}.marshal"


def install(path: Path | None = None) -> None:
    """Serve ``re``'s compiles from ``path`` (default :func:`cache_file`) and save new ones at exit."""
    global _state
    if _state is not None:
        return
    path = path or cache_file()
    _state = _State(path, _read(path), _compiler.compile)
    _compiler._sre = _RecordingSre(_sre)
    _compiler.compile = _compile
    atexit.register(save)


def stats() -> tuple[int, int, int]:
    """Hits, misses and newly kept patterns so far (all 0 when not installed)."""
    return (_state.hits, _state.misses, _state.added) if _state is not None else (0, 0, 0)


def _read(path: Path) -> dict[Key, tuple[Any, ...]]:
    data = read_owner_only(path)
    if data is None:
        return {}
    try:
        entries = marshal.loads(data)  # noqa: S302 - our own, owner-only cache file (data, not code)
    except (EOFError, ValueError, TypeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _compile(pattern: Any, flags: int = 0) -> Any:
    state = _state
    assert state is not None
    key: Key = (isinstance(pattern, str), pattern, int(flags))
    known = state.entries.get(key)
    if known is not None:
        try:
            compiled = _sre.compile(pattern, *known)
        except Exception:  # not a program _sre accepts: compiled again below
            state.entries.pop(key, None)
        else:
            state.hits += 1
            state.used.add(key)
            return compiled
    state.misses += 1
    _captured.args = None
    compiled = state.original(pattern, flags)
    args = _captured.args
    if args is not None and not flags & _DEBUG and _defined_in_source(sys._getframe(1)):
        flags_out, code, *rest = args
        state.entries[key] = (flags_out, [int(op) for op in code], *rest)  # opcodes are int subclasses
        state.used.add(key)
        state.added += 1
    return compiled


def _defined_in_source(frame: Any) -> bool:
    """Whether the code that asked for the pattern is a module's or a class's body."""
    while frame is not None and frame.f_globals.get("__name__") in _RE_MODULES:
        frame = frame.f_back
    return frame is not None and not frame.f_code.co_flags & _CO_OPTIMIZED


def save() -> None:
    """Write the kept programs when this run added some (never raises: a cache)."""
    state = _state
    if state is None or not state.added:
        return
    entries = state.entries
    if len(entries) > MAX_ENTRIES:
        entries = {key: value for key, value in entries.items() if key in state.used}
    try:
        write_atomic(state.path, marshal.dumps(entries), 0o600, durable=False)
    except (OSError, ValueError):
        return
    state.added = 0
