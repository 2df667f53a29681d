"""The one place bmad starts programs.

Programs run from an argument list (never a shell string) with a timeout. Their output goes to
temporary files, so a chatty program cannot fill the memory, and only the last
``max_output_chars`` characters of each stream are kept. What a run left behind is handed to an
optional ``record`` callback (the evidence folder, in a phase), so this module needs no
knowledge of where evidence lives. Long-running services are started detached (own session)
by :func:`spawn_detached`; their pid bookkeeping stays with the caller.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, CommandFailed
from bmad.core.files import child_umask, scratch_file
from bmad.core.redact import redact, redact_argv
from bmad.core.spans import SpanKind, kind_of, waiting

DEFAULT_MAX_OUTPUT_CHARS = 8 * 1024 * 1024


@datatype(frozen=True)
class Transcript:
    """What one run left behind, handed to the ``record`` callback (``exit_code`` None: timed out)."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_seconds: float


RecordTranscript = Callable[[Transcript], str | None]


@datatype(frozen=True)
class ProcessResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_seconds: float
    evidence_file: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of stdout then stderr, redacted."""
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).rstrip()
        return redact("\n".join(text.splitlines()[-lines:]))


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    system: str | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    input_text: str | None = None,
    merge_stderr: bool = False,
    check: bool = False,
    record: RecordTranscript | None = None,
    missing_hint: str | None = None,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    waits_on: SpanKind | None = None,
) -> ProcessResult:
    """Run ``argv`` to completion and capture its output.

    ``env`` is added to the current environment; with ``merge_stderr`` stderr goes into stdout.
    The wait is a span of kind ``waits_on`` (default: from the program's name) of the running phase.
    A missing program or a timeout raises :class:`AdapterError` (the program could not be run);
    a non-zero exit raises :class:`CommandFailed` only with ``check``.
    """
    return start(
        argv,
        system=system,
        cwd=cwd,
        env=env,
        timeout=timeout,
        input_text=input_text,
        merge_stderr=merge_stderr,
        missing_hint=missing_hint,
        max_output_chars=max_output_chars,
        waits_on=waits_on,
    ).wait(check=check, record=record)


def start(
    argv: Sequence[str | os.PathLike[str]],
    *,
    system: str | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    input_text: str | None = None,
    merge_stderr: bool = False,
    missing_hint: str | None = None,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    waits_on: SpanKind | None = None,
) -> Running:
    """Start ``argv`` and return at once: :meth:`Running.wait` gives what :func:`run` returns.

    For programs whose answers are needed later (several git questions asked together): they run
    while bmad goes on. The ``timeout`` counts from the start; the span covers only the time the
    caller is blocked in :meth:`Running.wait`. A missing program raises here.
    """
    args = tuple(str(a) for a in argv)
    name = system or Path(args[0]).name
    out, err = scratch_file(), scratch_file()
    started = time.monotonic()
    try:
        with _stdin(input_text) as stdin:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env={**os.environ, **env} if env else None,
                stdin=stdin,
                stdout=out,
                stderr=subprocess.STDOUT if merge_stderr else err,
                umask=child_umask(),
            )
    except BaseException as exc:
        out.close()
        err.close()
        if isinstance(exc, FileNotFoundError):
            hint = missing_hint or f"install {args[0]}"
            raise AdapterError(name, _action(args), "program not found", hint=hint) from None
        raise
    kind = waits_on or kind_of(name)
    return Running(args, name, proc, (out, err), started, timeout, kind, max_output_chars)


class Running:
    """A program started by :func:`start`, until :meth:`wait` collects it (once)."""

    def __init__(
        self,
        args: tuple[str, ...],
        name: str,
        proc: subprocess.Popen[bytes],
        files: tuple[IO[bytes], IO[bytes]],
        started: float,
        timeout: float,
        kind: SpanKind,
        max_output_chars: int,
    ) -> None:
        self.args, self.name, self._proc, self._files = args, name, proc, files
        self._started, self._timeout, self._kind, self._max_chars = started, timeout, kind, max_output_chars
        self._result: ProcessResult | None = None

    def wait(self, *, check: bool = False, record: RecordTranscript | None = None) -> ProcessResult:
        """Block until the program ends (killed past its timeout) and return its result; the errors
        of :func:`run`. Later calls return the same result (``record`` is called once, by the first)."""
        if self._result is None:
            self._result = self._finish(record)
        if check and not self._result.ok:
            result = self._result
            raise CommandFailed(self.name, self.args, result.exit_code, stdout=result.stdout, stderr=result.stderr)
        return self._result

    def _finish(self, record: RecordTranscript | None) -> ProcessResult:
        out, err = self._files
        try:
            remaining = max(0.0, self._started + self._timeout - time.monotonic())
            with waiting(self._kind, " ".join(redact_argv((self.name, *self.args[1:3])))):
                exit_code = _collect(self._proc, remaining)
            stdout, stderr = _read_tail(out, self._max_chars), _read_tail(err, self._max_chars)
        finally:
            out.close()
            err.close()
        transcript = Transcript(self.args, exit_code, stdout, stderr, time.monotonic() - self._started)
        evidence_file = record(transcript) if record is not None else None
        if exit_code is None:
            raise AdapterError(self.name, _action(self.args), f"timed out after {self._timeout:.0f}s", temporary=True)
        return ProcessResult(self.args, exit_code, stdout, stderr, transcript.duration_seconds, evidence_file)


def _action(args: tuple[str, ...]) -> str:
    """What an error says bmad was doing: the program and its first two arguments, redacted."""
    return f"running {' '.join(redact_argv(args[:3]))}"


def _collect(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The program's exit code, or None when it ran past ``timeout`` (it is killed then). The wait
    blocks in the kernel (see :func:`_exits_within`)."""
    try:
        if _exits_within(proc, timeout):
            return proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.kill()
    proc.wait()
    return None


@contextmanager
def _stdin(input_text: str | None) -> Iterator[IO[bytes] | int]:
    """The program's stdin: ``input_text`` in a temporary file, or nothing (/dev/null)."""
    if input_text is None:
        yield subprocess.DEVNULL
        return
    with scratch_file() as handle:
        handle.write(input_text.encode())
        handle.seek(0)
        yield handle


def _exits_within(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether ``proc`` exits within ``timeout`` seconds (it is not reaped here).

    On Linux the wait is a ``poll`` on a pidfd, which wakes at the exit: ``Popen.wait`` with a
    timeout polls with growing sleeps, which adds milliseconds to every short command, and a
    timer thread per command costs a thread start."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux (>= 5.3): Popen's own timed wait
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(pidfd)


def _read_tail(handle: IO[bytes], limit: int) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - limit))
    # Like text-mode pipes: universal newlines.
    text = handle.read().decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    if size <= limit:
        return text
    return f"[... {size - limit} bytes cut ...]\n" + text


def spawn_detached(
    argv: Sequence[str | os.PathLike[str]],
    *,
    system: str,
    log: IO[bytes],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    missing_hint: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running program in its own session, stdout and stderr into ``log``."""
    args = [str(a) for a in argv]
    try:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **env} if env else None,
            start_new_session=True,
            close_fds=True,
            umask=child_umask(),
        )
    except FileNotFoundError:
        raise AdapterError(
            system, f"starting {args[0]}", "program not found", hint=missing_hint or f"install {args[0]}"
        ) from None
    except PermissionError as exc:
        raise AdapterError(system, f"starting {args[0]}", f"permission denied: {exc.filename}") from None
