"""The console script ends its process without the interpreter's teardown (``os._exit``), and loses
nothing by it: exit handlers run, what it printed arrives whole, a running thread is waited for. Output
whose reader left (a closed pipe) ends the command quietly with 141; any other broken pipe is an error."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bmad.cli.options import guard

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux; fcntl names it from Python 3.10

PROGRAM = """
import atexit, sys, threading, time
marker = sys.argv[1]
def later(text):
    with open(marker, "a", encoding="utf-8") as handle:
        handle.write(text)
if sys.argv[2] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.5), later("thread"))).start()
atexit.register(later, "atexit;")
atexit.register(sys.stdout.write, "[written at exit, not flushed]")
sys.argv = ["bmad", *sys.argv[3:]]
from bmad.cli.main import run
run()
"""


def console_command(tmp_path: Path, *args: str, thread: bool = False) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of ``bmad ARGS`` through :func:`bmad.cli.main.run`, in a fresh interpreter."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "BMAD_NO_PROMPT": "1"}
    env.pop("PYTHONUNBUFFERED", None)  # stdout block-buffered into a pipe, as a user's bmad writes it
    return [sys.executable, "-c", PROGRAM, str(tmp_path / "marker"), "thread" if thread else "-", *args], env


def console(tmp_path: Path, *args: str, thread: bool = False, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    argv, env = console_command(tmp_path, *args, thread=thread)
    return subprocess.run(argv, env=env, cwd=tmp_path, timeout=60, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


def test_output_larger_than_a_pipe_arrives_whole_and_exit_handlers_run(tmp_path: Path) -> None:
    proc = console(tmp_path, "checklist", "--json", capture_output=True)
    assert proc.returncode == 0, proc.stderr
    # bmad's own writers flush; an exit handler's text is out only if stdout is flushed after the handlers
    document, tail = proc.stdout.rsplit(b"\n", 1)
    assert tail == b"[written at exit, not flushed]"
    assert len(document) > 65536  # more than a pipe holds
    assert json.loads(document)  # a lost tail would not parse
    assert (tmp_path / "marker").read_text(encoding="utf-8") == "atexit;"


def test_the_exit_code_is_the_commands(tmp_path: Path) -> None:
    proc = console(tmp_path, "status", "-c", "missing.yaml", capture_output=True)
    assert proc.returncode == 2, proc.stderr
    assert b"missing.yaml" in proc.stderr


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    proc = console(tmp_path, "version", thread=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    # as Python's own exit: threads are joined first, then the exit handlers run
    assert (tmp_path / "marker").read_text(encoding="utf-8") == "threadatexit;"


def test_output_nobody_reads_any_more_ends_quietly_with_141(tmp_path: Path) -> None:
    """``bmad version | true``: the reader is gone before bmad writes (it was an internal error, exit 4)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = console(tmp_path, "version", stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, b"")
    assert (tmp_path / "marker").read_text(encoding="utf-8") == "atexit;"


def test_a_reader_that_stops_halfway_ends_it_quietly_with_141(tmp_path: Path) -> None:
    """``bmad checklist | head -3``: the pipe closes while bmad is still writing its lines."""
    read_end, write_end = os.pipe()
    reader, writer = os.fdopen(read_end, "rb", buffering=0), os.fdopen(write_end, "wb", buffering=0)
    with reader, writer:  # a file object closes its descriptor once, however often it is closed
        fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)  # ~25 kB of lines do not fit: bmad waits on the reader
        argv, env = console_command(tmp_path, "checklist")
        with subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=writer, stderr=subprocess.PIPE) as proc:
            writer.close()
            assert reader.read(100)
            reader.close()
            assert proc.stderr is not None
            stderr = proc.stderr.read()
            assert (proc.wait(timeout=60), stderr) == (141, b"")


def test_a_broken_pipe_to_another_program_is_still_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a closed standard output ends quietly: here stdout is open (pytest's capture file) and the
    pipe that broke was a program's, so the guard reports it as any other error (exit 4, a log)."""
    monkeypatch.setenv("BMAD_LOG_DIR", str(tmp_path))

    def write_to_a_program() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert guard(write_to_a_program, as_json=False) == 4
    assert list(tmp_path.glob("bmad-error-*.log"))
