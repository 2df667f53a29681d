"""One exception hierarchy whose messages a user can act on.

A failed gate is *data* (a :class:`~bmad.core.models.CheckResult` with status ``fail``),
never an exception. An exception means "bmad could not find out": bad input, an
unreachable system, or a bug.

Exit codes (shared with the CLI and documented in the README):

* 0 every phase asked for passed
* 1 a gate failed
* 2 usage or configuration error
* 3 an external system could not be reached
* 4 internal error (traceback in a log file, never on screen)
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from bmad.core.redact import redact, redact_argv


class ExitCode(IntEnum):
    OK = 0
    GATE_FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    INTERNAL = 4


class BmadError(Exception):
    """Root of every error bmad raises on purpose.

    ``message`` says what went wrong, ``hint`` what the user can do about it.
    Messages must never contain secret values: build them from names, not values.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """One line (plus an optional hint line) for the terminal."""
        text = f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class UsageError(BmadError):
    """The command line asked for something that cannot be done as asked."""

    exit_code = ExitCode.USAGE


class ConfigError(BmadError):
    """Bad input in a file: names the file, line and column, the field path and the reason."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.reason = reason
        super().__init__(self._compose(), hint=hint)

    def _compose(self) -> str:
        """``file:line:column: field: reason``; without a file ``line 3:5: ...``, without either the field
        and reason alone (never a placeholder such as ``<input>``)."""
        field = f" {self.field}:" if self.field else ""
        mark = "" if self.line is None else f"{self.line}" + ("" if self.column is None else f":{self.column}")
        if self.file is None:
            where = f"line {mark}:" if mark else ""
            return f"{where}{field} {self.reason}".strip()
        where = f"{self.file}:{mark}" if mark else self.file
        return f"{where}:{field} {self.reason}"


class GateRefused(BmadError):
    """A phase was asked to run before the phase it depends on passed (no --force)."""

    exit_code = ExitCode.GATE_FAILED


class LockHeld(BmadError):
    """Another bmad run holds the lock of this (service, environment)."""

    exit_code = ExitCode.GATE_FAILED


class AdapterError(BmadError):
    """An external system failed or could not be reached.

    ``system`` is what bmad talked to (``prometheus``, ``registry``, ``podman`` ...),
    ``action`` what it was doing, ``status`` an HTTP status or exit code when there
    was one, ``detail`` a short, already-redacted excerpt of the answer.
    ``temporary`` tells callers whether retrying may help.
    """

    exit_code = ExitCode.UNREACHABLE

    def __init__(
        self,
        system: str,
        action: str,
        detail: str = "",
        *,
        status: int | None = None,
        temporary: bool = False,
        hint: str | None = None,
    ) -> None:
        self.system = system
        self.action = action
        self.status = status
        self.detail = detail[:500]
        self.temporary = temporary
        msg = f"{system}: {action} failed"
        if status is not None:
            msg += f" (status {status})"
        if self.detail:
            msg += f": {self.detail}"
        super().__init__(msg, hint=hint)


class Unreachable(AdapterError):
    """The system did not answer at all (connection refused, DNS, timeout)."""

    def __init__(self, system: str, action: str, detail: str = "", *, hint: str | None = None) -> None:
        super().__init__(system, action, detail, temporary=True, hint=hint)


class CommandFailed(AdapterError):
    """A program bmad ran exited non-zero.

    The message names the program and its first arguments, the return code and the last lines
    of its output; ``stdout_tail`` and ``stderr_tail`` keep each stream's last lines. Everything
    is redacted here, so no caller can forget to.
    """

    TAIL_LINES = 10

    def __init__(
        self,
        system: str,
        argv: Sequence[str],
        return_code: int,
        *,
        stdout: str = "",
        stderr: str = "",
        hint: str | None = None,
    ) -> None:
        self.argv = tuple(redact_argv(argv))
        self.return_code = return_code
        self.stdout_tail = _tail(stdout, self.TAIL_LINES)
        self.stderr_tail = _tail(stderr, self.TAIL_LINES)
        both = "\n".join(stream.rstrip() for stream in (stdout, stderr) if stream.strip())
        super().__init__(system, f"running {' '.join(self.argv[:3])}", _tail(both, 5), status=return_code, hint=hint)


def _tail(text: str, lines: int) -> str:
    return redact("\n".join(text.rstrip().splitlines()[-lines:]))


class InternalError(BmadError):
    """A bug in bmad. The CLI writes the traceback to a log file and prints its path."""

    exit_code = ExitCode.INTERNAL
