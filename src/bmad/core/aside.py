"""Work done aside: in a forked child process while this one goes on, on a second core.

bmad is Python: its threads share one interpreter lock, so a second thread does not make CPU work
faster. A forked child does, and costs little (about 2 ms for a 140 MB process: the pages are
shared until written) and needs nothing sent to it (it has the parent's memory). It suits work whose
result is files (:func:`start`): an ANALYZE of 1,000 objects writes megabytes of evidence (SARIF,
JSON, JUnit) from a report already in memory while the parent records the phase; and work whose
result is much cheaper to hand back than to compute (:func:`start_returning`, bytes through the
pipe): the child parses part of a large manifest bundle while the parent parses the rest. Work
made of numbered pieces is shared (:func:`share`): both processes take the next piece's number from
one pipe, so neither waits on the other longer than one piece takes, however uneven the pieces are or
however late this process comes to the work.

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
from collections.abc import Callable, Iterator, Sequence
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

# How long a parent waits for a child that does a share of some work, at least and as a multiple of
# the time its own share took; past it the child is killed and its share done in the parent (a hung
# child costs time, not results).
PATIENCE_MIN_S = 10.0
PATIENCE_FACTOR = 5.0


def patience(own_share_s: float) -> float:
    """Seconds to wait for a child's share of some work when the parent's own share took ``own_share_s``."""
    return max(PATIENCE_MIN_S, PATIENCE_FACTOR * own_share_s)


_NUMBER = 2  # bytes of a piece's number in a sharing pipe
# Numbers one pipe holds: they are written before the fork, in one write that must not block (a pipe
# holds 64 KiB on Linux by default).
MAX_SHARED = 16 * 1024


class Sharing:
    """Numbered pieces of work taken by this process and a forked child from one pipe (:func:`share`)."""

    def __init__(self, child: Aside, queue: int) -> None:
        self.pid = child.pid
        self._child: Aside | None = child
        self._queue: int | None = queue

    def taken_here(self) -> Iterator[int]:
        """The numbers this process takes, in order, until none is left (the child took the others)."""
        if self._queue is not None:
            yield from _taken(self._queue)

    def result(self, timeout: float) -> bytes | None:
        """What the child's work returned for the numbers it took, or None (it failed, died, did not hand
        it all back within ``timeout`` seconds, or was stopped). The child is reaped either way, once."""
        self._close_queue()
        child, self._child = self._child, None
        return child.result(timeout) if child is not None else None

    def stop(self) -> None:
        """Nothing more the child does is wanted: unless reaped already, it is killed and reaped."""
        self.result(0)

    def _close_queue(self) -> None:
        if self._queue is not None:
            os.close(self._queue)
            self._queue = None


def share(numbers: Sequence[int], work: Callable[[Iterator[int]], bytes]) -> Sharing | None:
    """Queue ``numbers`` in a pipe and fork a child that runs ``work`` over the numbers it takes from it
    (an iterator that ends when the pipe is empty) and hands back what ``work`` returns; this process
    takes the others with :meth:`Sharing.taken_here`. Each read takes one number whole (a pipe read is
    atomic on Linux, the only system where work is done aside). None where work is not done aside, or
    for more than :data:`MAX_SHARED` numbers: the caller does it all."""
    if not enabled() or len(numbers) > MAX_SHARED:
        return None
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"".join(number.to_bytes(_NUMBER, "big") for number in numbers))
    finally:
        os.close(write_end)  # before the fork: a read of the emptied pipe is its end, in both processes
    child = start_returning(lambda: work(_taken(read_end)))
    if child is None:
        os.close(read_end)
        return None
    return Sharing(child, read_end)


def _taken(queue: int) -> Iterator[int]:
    while taken := os.read(queue, _NUMBER):
        yield int.from_bytes(taken, "big")


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
