"""The one place the local stack starts and stops programs.

Long-running services are started in their own session (``setsid``), so that a signal to the
caller's process group never takes them down, and are stopped by their recorded pid only
(a signal to the service's process group). Liveness is read from ``/proc/<pid>/stat``: on
machines whose PID 1 reaps orphans slowly an exited service lingers as a zombie, and
``kill -0`` would keep "succeeding" for minutes.

Every program is spawned through :mod:`bmad.core.process`; this module keeps the services' pids.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bmad.core import process
from bmad.core.datatypes import datatype

_ERROR_LINE = re.compile(r"level=(error|fatal)|\b(ERROR|FATAL|PANIC|panic|error:|Error:)", re.ASCII)

# Popen objects of services this process started; kept so they can be reaped (no zombies,
# no ResourceWarning) when they are stopped from the same process.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def start_service(
    argv: Sequence[str],
    *,
    system: str,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached (own session), stdout+stderr appended to ``log_file``; return its pid."""
    args = [str(a) for a in argv]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(args)}\n".encode())
        log.flush()
        proc = process.spawn_detached(
            args, system=system, log=log, env=env, cwd=cwd, missing_hint="install it: run scripts/setup.sh"
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (``R``, ``S``, ``Z`` ...), or None when it does not exist."""
    _reap(pid)
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # Format: "pid (comm) S ..." and comm may contain spaces or parentheses.
    rest = raw[raw.rfind(")") + 2 :]
    return rest[:1] or None


def is_running(pid: int | None) -> bool:
    """True when ``pid`` exists and is not a zombie or dead."""
    if not pid or pid <= 0:
        return False
    return process_state(pid) not in (None, "Z", "X", "x")


def process_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def stop_pid(pid: int, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> bool:
    """Signal ``pid``'s process group (``sig``, then SIGKILL after ``timeout``); wait until it is gone.

    Returns True when the process had to be killed with SIGKILL.
    """
    if not is_running(pid):
        _reap(pid)
        return False
    _signal_group(pid, sig)
    if _wait_gone(pid, timeout):
        return False
    _signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, 5.0)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    # Only signal a group the service leads (started with setsid): never our own group.
    target_group = pgid == pid and pgid != os.getpgrp()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if target_group:
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.02)
    return not is_running(pid)


def _reap(pid: int) -> None:
    proc = _CHILDREN.get(pid)
    if proc is not None:
        if proc.poll() is not None:
            _CHILDREN.pop(pid, None)
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


@datatype(frozen=True)
class ShortResult:
    """A short command run to completion: its exit code and its output."""

    argv: tuple[str, ...]
    exit_code: int
    output: str

    def tail(self, lines: int = 10) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def run_short(
    argv: Sequence[str],
    *,
    system: str,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> ShortResult:
    """Run a short command to completion (stdout and stderr together)."""
    result = process.run(
        argv,
        system=system,
        timeout=timeout,
        env=env,
        cwd=cwd,
        merge_stderr=True,
        check=check,
        missing_hint="run scripts/setup.sh",
    )
    return ShortResult(result.argv, result.exit_code, result.stdout)


def program_of(argv: Sequence[str], executable: str | None) -> str:
    # setpriv execs the server: the running process is the server, not setpriv.
    if argv and Path(argv[0]).name == "setpriv":
        return executable or argv[-1]
    return argv[0]


def log_excerpt(log: object, lines: int = 5) -> str:
    """The end of a log, preferring the error lines (a server's last lines are often its shutdown)."""
    if not isinstance(log, str):
        return ""
    try:
        text = Path(log).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    recent = [line.strip() for line in text.strip().splitlines()[-60:] if line.strip()]
    errors = [line for line in recent if _ERROR_LINE.search(line)]
    chosen = errors[-3:] if errors else recent[-lines:]
    return " | ".join(line[:400] for line in chosen)
