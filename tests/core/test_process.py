"""The process seam: argv only, timeouts, capped output, errors that show what failed."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from bmad.core import process
from bmad.core.errors import AdapterError, CommandFailed, ExitCode
from bmad.core.process import Transcript
from bmad.core.redact import MASK, forget_secrets, register_secret

PY = sys.executable


def test_output_of_both_streams_is_captured() -> None:
    result = process.run([PY, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert result.ok and result.tail(1) == "err"


def test_merged_stderr_lands_in_stdout() -> None:
    result = process.run([PY, "-c", "import sys; print('a', file=sys.stderr)"], merge_stderr=True)
    assert (result.stdout, result.stderr) == ("a\n", "")


def test_input_text_is_the_program_s_stdin_and_stdin_is_closed_otherwise() -> None:
    echoed = process.run([PY, "-c", "import sys; print(sys.stdin.read().upper())"], input_text="hi")
    assert echoed.stdout == "HI\n"
    assert process.run([PY, "-c", "import sys; print(repr(sys.stdin.read()))"]).stdout == "''\n"


def test_env_is_added_to_the_current_environment() -> None:
    result = process.run([PY, "-c", "import os; print(os.environ['SEAM_VALUE'], bool(os.environ['PATH']))"],
                         env={"SEAM_VALUE": "x1"})  # fmt: skip
    assert result.stdout == "x1 True\n"


def test_output_is_capped_to_its_last_characters() -> None:
    result = process.run([PY, "-c", "print('a' * 5000 + 'END')"], max_output_chars=100)
    assert result.stdout.startswith("[... 4904 bytes cut ...]\n") and result.stdout.endswith("aEND\n")
    assert len(result.stdout.splitlines()[1]) == 99


def test_a_non_zero_exit_raises_only_with_check() -> None:
    argv = [PY, "-c", "import sys; print('partial'); sys.exit('broken')"]
    assert process.run(argv).exit_code == 1
    with pytest.raises(CommandFailed) as caught:
        process.run(argv, system="tool", check=True)
    error = caught.value
    assert error.return_code == 1 and error.status == 1 and error.exit_code == ExitCode.UNREACHABLE
    assert (error.stdout_tail, error.stderr_tail) == ("partial", "broken")
    assert (
        str(error)
        == f"tool: running {PY} -c import sys; print('partial'); sys.exit('broken') failed (status 1): partial\nbroken"
    )


def test_command_failed_redacts_argv_and_output() -> None:
    register_secret("hunter2-secret")
    try:
        with pytest.raises(CommandFailed) as caught:
            process.run([PY, "-c", "import sys; sys.exit('token hunter2-secret')", "hunter2-secret"], check=True)
    finally:
        forget_secrets()
    assert "hunter2-secret" not in str(caught.value) and MASK in caught.value.stderr_tail
    assert caught.value.argv[-1] == MASK


def test_a_timeout_is_a_temporary_adapter_error_and_is_still_recorded() -> None:
    seen: list[Transcript] = []
    with pytest.raises(AdapterError) as caught:
        process.run([PY, "-c", "import time; print('begun', flush=True); time.sleep(30)"], timeout=0.5,
                    record=lambda t: seen.append(t) or None)  # fmt: skip
    assert caught.value.temporary and "timed out after 0s" in str(caught.value)
    assert seen[0].exit_code is None and seen[0].stdout == "begun\n"


def test_a_timeout_also_ends_a_program_that_never_reads_its_input() -> None:
    """Guards the stdin file: the input is handed over whole, so the timeout still applies."""
    with pytest.raises(AdapterError, match="timed out"):
        process.run([PY, "-c", "import time; time.sleep(30)"], input_text="x" * 1_000_000, timeout=0.5)


def test_a_run_starts_no_thread() -> None:
    """Guards issue 13: a timer thread per program cost a thread start on every git call."""
    started: list[str] = []
    threading.settrace(lambda *_: started.append(threading.current_thread().name))
    try:
        assert process.run([PY, "-c", "import sys; print(sys.stdin.read())"], input_text="in").stdout == "in\n"
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    assert started == []


def test_ctrl_c_during_the_wait_kills_the_program(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Guards the kernel wait: a KeyboardInterrupt in it still kills the program and propagates."""
    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    previous = signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            process.run([PY, "-c", script], timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def test_the_record_callback_names_the_evidence_file() -> None:
    result = process.run([PY, "-c", "pass"], record=lambda t: f"commands/{t.exit_code}.json")
    assert result.evidence_file == "commands/0.json"


def test_a_missing_program_says_so_with_a_hint() -> None:
    with pytest.raises(AdapterError) as caught:
        process.run(["/nonexistent/tool", "x"], missing_hint="install tool")
    assert caught.value.detail == "program not found" and caught.value.hint == "install tool"


def test_spawn_detached_starts_its_own_session(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    with (tmp_path / "log").open("ab") as log:
        proc = process.spawn_detached([PY, "-c", "import os; print(os.getsid(0))"], system="t", log=log)
    proc.wait(10)
    assert int((tmp_path / "log").read_text()) == proc.pid != os.getsid(0)
