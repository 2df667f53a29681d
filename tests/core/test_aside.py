"""Work done aside in a forked child (bmad.core.aside): real forks, real pipes, no stand-ins."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad.core import aside, redact

pytestmark = pytest.mark.skipif(not aside.enabled(), reason="work is done aside on Linux only")


def _sleep_then(result: bytes | None) -> Callable[[], Any]:
    def work() -> Any:
        time.sleep(60)
        return result

    return work


def test_the_work_runs_in_another_process_and_the_parent_goes_on(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    seen: list[int] = []

    def work() -> None:
        seen.append(1)  # the child's copy of the list
        marker.write_text(str(os.getpid()))

    child = aside.start(work)
    assert child is not None
    assert child.wait(30) is True
    assert int(marker.read_text()) == child.pid != os.getpid()
    assert seen == []  # the parent's memory is its own
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(child.pid, os.WNOHANG)


def test_a_child_whose_work_fails_says_so(tmp_path: Path) -> None:
    def work() -> None:
        raise OSError("no space left on device")

    child = aside.start(work)
    assert child is not None and child.wait(30) is False


@pytest.mark.parametrize("returning", [False, True], ids=["files", "a result"])
def test_a_child_that_hangs_is_killed_at_the_time_limit_and_reaped(returning: bool) -> None:
    child = aside.start_returning(_sleep_then(b"late")) if returning else aside.start(_sleep_then(None))
    assert child is not None
    started = time.monotonic()
    assert (child.result(0.5) is None) if returning else (child.wait(0.5) is False)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_a_lock_another_thread_holds_at_the_fork_is_free_in_the_child(tmp_path: Path) -> None:
    """Without a new lock in the child (os.register_at_fork), redaction would wait forever there for a
    lock whose holder, another thread of the parent, does not exist in the child."""
    redact.register_secret("aside-secret-4711")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with redact._lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        out = tmp_path / "out"
        child = aside.start(lambda: out.write_text(redact.redact("token aside-secret-4711 password=hunter2hunter2")))
        assert child is not None
        assert child.wait(20) is True
    finally:
        release.set()
        holder.join()
        redact.forget_secrets()
    text = out.read_text()
    assert "aside-secret-4711" not in text and "hunter2hunter2" not in text


def test_the_child_writes_nothing_to_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    def work() -> None:  # what a program run by the work would write: to the descriptors 1 and 2
        os.write(1, b"from the child\n")
        os.write(2, b"to stderr\n")

    child = aside.start(work)
    assert child is not None and child.wait(30) is True
    captured = capfd.readouterr()
    assert "from the child" not in captured.out and "to stderr" not in captured.err


@pytest.mark.parametrize("value", ["1", "yes"])
def test_bmad_no_fork_keeps_the_work_here(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BMAD_NO_FORK", value)
    assert aside.enabled() is False
    assert aside.start(lambda: None) is None
    monkeypatch.setenv("BMAD_NO_FORK", "0")
    assert aside.enabled() is True


def test_a_returning_child_hands_its_result_back_whole() -> None:
    result = os.urandom(3 << 20)  # several pipe buffers: the child blocks until the parent reads

    child = aside.start_returning(lambda: result)
    assert child is not None
    assert child.result(30) == result
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_an_empty_result_is_a_result() -> None:
    child = aside.start_returning(lambda: b"")
    assert child is not None and child.result(30) == b""


def test_a_returning_child_whose_work_fails_hands_back_nothing() -> None:
    def work() -> bytes:
        raise ValueError("not parsed")

    child = aside.start_returning(work)
    assert child is not None and child.result(30) is None


def test_a_child_that_dies_while_handing_back_is_no_result() -> None:
    """The length comes first: a child that wrote part of its result and died is told from one that
    wrote it all (reading until the pipe closes would take the part for the whole)."""
    child = aside.start_returning(lambda: b"x" * (4 << 20))
    assert child is not None
    time.sleep(0.5)  # the pipe is full: the child waits for the parent to read
    os.kill(child.pid, signal.SIGKILL)
    assert child.result(30) is None


def test_the_result_comes_back_while_another_child_holds_the_pipe_open() -> None:
    """A child forked after this one inherits its pipe's write end and keeps it open while it lives: the
    result is complete when its length says so, not when the pipe closes."""

    def work() -> bytes:
        time.sleep(0.2)  # the second child is forked meanwhile
        return b"parsed"

    child = aside.start_returning(work)
    sleeper = aside.start(lambda: time.sleep(60))
    assert child is not None and sleeper is not None
    try:
        started = time.monotonic()
        assert child.result(30) == b"parsed"
        assert time.monotonic() - started < 20
    finally:
        assert sleeper.wait(0.1) is False  # killed and reaped


@pytest.mark.parametrize("returning", [False, True], ids=["files", "a result"])
def test_an_interrupted_wait_kills_the_child_at_once(returning: bool) -> None:
    """Ctrl-C while waiting: the child is killed and reaped, not waited for (it could take its time)."""

    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    child = aside.start_returning(_sleep_then(b"late")) if returning else aside.start(_sleep_then(None))
    assert child is not None
    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupted):
            child.result(30) if returning else child.wait(30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def _taking(pause_s: float) -> Callable[[Any], bytes]:
    """A child's share: the numbers it takes, each after ``pause_s`` (its work)."""

    def work(numbers: Any) -> bytes:
        taken = []
        for number in numbers:
            time.sleep(pause_s)
            taken.append(number)
        return ",".join(map(str, taken)).encode()

    return work


def _numbers(result: bytes | None) -> list[int]:
    assert result is not None
    return [int(n) for n in result.decode().split(",") if n]


def test_shared_numbers_are_each_taken_once_by_one_of_the_two_processes() -> None:
    numbers = list(range(0, 3000, 3))  # any numbers, in the order given
    sharing = aside.share(numbers, _taking(0.0002))
    assert sharing is not None
    mine = []
    for number in sharing.taken_here():
        time.sleep(0.0002)
        mine.append(number)
    theirs = _numbers(sharing.result(30))
    assert mine and theirs  # both took some: the work was shared
    assert sorted(mine + theirs) == numbers  # each number once, none lost
    assert mine == sorted(mine) and theirs == sorted(theirs)  # each process takes them in order


def test_a_process_that_comes_late_takes_what_the_child_left() -> None:
    sharing = aside.share(list(range(50)), _taking(0.0))
    assert sharing is not None
    time.sleep(0.5)  # the child took every number meanwhile
    assert list(sharing.taken_here()) == []
    assert _numbers(sharing.result(30)) == list(range(50))


def test_a_stopped_sharing_kills_and_reaps_its_child_once() -> None:
    sharing = aside.share(list(range(10)), _taking(60))
    assert sharing is not None
    started = time.monotonic()
    sharing.stop()
    sharing.stop()  # a second stop (or result) does nothing: the pipe is not closed twice
    assert sharing.result(1) is None
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(sharing.pid, os.WNOHANG)


def test_too_many_numbers_or_no_fork_are_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    assert aside.share(list(range(aside.MAX_SHARED + 1)), _taking(0)) is None
    monkeypatch.setenv("BMAD_NO_FORK", "1")
    assert aside.share([1, 2], _taking(0)) is None
