"""Work done aside: in a forked child process while this one goes on, on a second core.

bmad is Python: its threads share one interpreter lock, so a second thread does not make CPU work
faster. A forked child does, and costs little (about 2 ms for a 140 MB process: the pages are
shared until written) and needs nothing sent to it (it has the parent's memory). It suits work whose
result is files (:func:`start`): an ANALYZE of 1,000 objects writes megabytes of evidence (SARIF,
JSON, JUnit) from a report already in memory while the parent records the phase; and work whose
result is much cheaper to hand back than to compute (:func:`start_returning`, bytes through the
pipe): the child parses part of a large manifest bundle while the parent parses the rest.

Only on Linux (macOS system libraries are not safe in a child forked from a process with threads,
which is why Python's own ``multiprocessing`` stopped forking there), and not when ``BMAD_NO_FORK``
is set to anything but ``""``/``0``: :func:`start` then returns None and the caller does the work
itself, as it does when the fork fails. The child keeps only the thread that forked; a lock another
thread held at that moment would stay locked in it, so every module lock the work may take is made
anew in the child (``os.register_at_fork``: :mod:`bmad.core.redact`, :mod:`bmad.core.deferred_imports`).
The child takes the default SIGINT and SIGTERM (it dies with the terminal's Ctrl-C, never runs the parent's
handlers), writes nothing to the terminal, runs no garbage collection (each pass would touch, so
copy, every page) and leaves with ``os._exit``: no ``atexit`` handler, no buffer of the parent's
flushed twice, no database connection closed under the parent. :meth:`Aside.wait` waits with a
time limit and reaps the child; a child that did not finish in time is killed, and the caller does
the work again itself (so a child that hangs costs time, never the result).
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from bmad.core.datatypes import datatype

_DONE = b"1"  # what a child that finished its work writes to the pipe before leaving
_LENGTH = 8  # a returning child writes its result's length in this many bytes (big-endian), then the result


def enabled() -> bool:
    """Whether work may be done aside here: Linux, and ``BMAD_NO_FORK`` unset (or ``""``/``0``)."""
    return sys.platform == "linux" and os.environ.get("BMAD_NO_FORK", "") in ("", "0")


@datatype
class Aside:
    """A forked child doing some work; :meth:`wait` once."""

    pid: int
    pipe: int  # the read end: the child writes _DONE, then its exit closes the write end

    def wait(self, timeout: float) -> bool:
        """Whether the child finished its work, within ``timeout`` seconds (else it is killed).
        The child is reaped either way."""
        ready: list[int] = []
        try:
            ready = select.select([self.pipe], [], [], timeout)[0]
            return bool(ready) and os.read(self.pipe, 1) == _DONE
        finally:
            self._end(killed=not ready)

    def _end(self, *, killed: bool) -> None:
        """Close the pipe and reap the child, killed first when it is not done (too late, or Ctrl-C
        here: waiting for it could take long)."""
        if killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        os.close(self.pipe)
        with contextlib.suppress(ChildProcessError):  # reaped already
            os.waitpid(self.pid, 0)

    def result(self, timeout: float) -> bytes | None:
        """What the child's work returned (:func:`start_returning`), or None when it failed or did not
        hand it all back within ``timeout`` seconds (then it is killed). The child is reaped either way.
        The result is framed (its length first), so reading stops when it is all here: another child
        forked meanwhile may hold this pipe's write end open after this child left."""
        deadline = time.monotonic() + timeout
        received = bytearray()
        wanted: int | None = None
        try:
            while wanted is None or len(received) < wanted:
                left = deadline - time.monotonic()
                ready = select.select([self.pipe], [], [], left)[0] if left > 0 else []
                chunk = os.read(self.pipe, _CHUNK) if ready else b""
                if not chunk:  # too late, or the child left without handing it all back
                    return None
                received += chunk
                if wanted is None and len(received) >= _LENGTH:
                    wanted = _LENGTH + int.from_bytes(received[:_LENGTH], "big")
            return bytes(received[_LENGTH:])
        finally:
            self._end(killed=wanted is None or len(received) < wanted)


_CHUNK = 1 << 20


def start(work: Callable[[], None]) -> Aside | None:
    """Run ``work`` in a forked child; None where that is not done (see :func:`enabled`)."""
    return _forked(lambda write_end: _done_after(work, write_end))


def start_returning(work: Callable[[], bytes]) -> Aside | None:
    """Run ``work`` in a forked child that hands its result back (:meth:`Aside.result`); None where
    that is not done (see :func:`enabled`)."""
    return _forked(lambda write_end: _returned(work(), write_end))


def _done_after(work: Callable[[], None], write_end: int) -> None:
    work()
    os.write(write_end, _DONE)


def _returned(result: bytes, write_end: int) -> None:
    framed = memoryview(len(result).to_bytes(_LENGTH, "big") + result)
    while framed:
        framed = framed[os.write(write_end, framed) :]


def _forked(work: Callable[[int], None]) -> Aside | None:
    if not enabled():
        return None
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to be had (a limit, memory): the caller does the work itself
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # pragma: no cover - the child's lines run in another process (coverage does not follow)
        _child(work, read_end, write_end)
    os.close(write_end)
    return Aside(pid, read_end)


def _child(work: Callable[[int], None], read_end: int, write_end: int) -> NoReturn:  # pragma: no cover
    code = 1
    try:
        gc.disable()
        os.close(read_end)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        work(write_end)
        code = 0
    except BaseException:  # noqa: S110 - the parent sees no _DONE and does the work itself
        pass
    finally:
        os._exit(code)
