"""Rendering shared by every ``bmad`` command: check tables, JSON output, errors and exit codes,
and the progress display implementing :class:`bmad.ports.progress.Progress`.

Every line bmad prints goes through :func:`terminal_safe` (directly, or through :func:`echo`,
:class:`bmad.cli._text.Printer`, :func:`print_json` and :func:`report_error`): text from outside
(a ``--reason``, a manifest, a tool's output) cannot move the cursor, clear the screen or set
the window title. Text is laid out by bmad's own :mod:`bmad.cli._text`; Rich is imported only
for the live progress display, and only when stderr is a terminal.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bmad.cli._text import Column, Part, Piece, Printer, Styled, Table, terminal_safe
from bmad.core.errors import BmadError, ExitCode
from bmad.core.models import CheckResult, CheckStatus, PhaseStatus
from bmad.core.redact import redact, redact_data

__all__ = ["terminal_safe"]

STATUS_STYLE = {
    "pass": "green",
    "passed": "green",
    "warn": "yellow",
    "fail": "red",
    "failed": "red",
    "skip": "dim",
    "pending": "dim",
    "running": "cyan",
    "aborted": "magenta",
    "interrupted": "magenta",
}


def echo(text: str = "", *, err: bool = False, end: str = "\n") -> None:
    """Print one plain line (or several) on stdout or stderr, control characters escaped."""
    stream = sys.stderr if err else sys.stdout
    stream.write(terminal_safe(text) + end)
    stream.flush()


def printer(*, stderr: bool = False) -> Printer:
    """Styled, wrapped lines on stdout (or stderr)."""
    return Printer(err=stderr)


def styled(status: str) -> Piece:
    return Piece(status, STATUS_STYLE.get(status, ""))


def esc(text: str) -> str:
    """``text`` terminal-safe and escaped for Rich markup (the live progress display's descriptions)."""
    from rich.markup import escape

    return escape(terminal_safe(text))


# ---------------------------------------------------------------------- JSON


def to_json(data: Any) -> str:
    return json.dumps(redact_data(data), indent=2, sort_keys=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(terminal_safe(to_json(data)) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------- checks


def category_of(check_id: str) -> str:
    """``build.image.size`` -> ``image``; ids with fewer parts have no category (``""``)."""
    parts = check_id.split(".")
    return parts[1] if len(parts) > 2 else ""


def render_checks(out: Printer, checks: Sequence[CheckResult], *, warnings_fail: bool = False) -> None:
    """A table of checks grouped by category; failures and warnings get what/expected/observed/fix lines."""
    table = Table([Column("status"), Column("check"), Column("what", wrap=True), Column("time", right=True)])
    ordered = sorted(enumerate(checks), key=lambda item: (category_of(item[1].id), item[0]))
    last_category = None
    for _, check in ordered:
        category = category_of(check.id)
        if category and category != last_category and len(checks) > 1:
            table.add_row("", Piece(category, "bold"), "", "")
            last_category = category
        table.add_row(_status_cell(check, warnings_fail), check.id, _what_cell(check), f"{check.duration_seconds:.2f}s")
    out.table(table)


def _status_cell(check: CheckResult, warnings_fail: bool) -> Styled:
    if check.status is CheckStatus.WARN and warnings_fail:
        return Styled.of(styled(check.status.value), " ", Piece("(counts as fail)", "red"))
    return Styled.of(styled(check.status.value))


def _what_cell(check: CheckResult) -> Styled:
    """The check's title; unless it passed its summary (dim); for a failure or warning the details."""
    parts: list[Part] = [redact(check.title)]
    if check.summary and check.status is not CheckStatus.PASS:
        parts += ["\n", Piece(redact(check.summary), "dim")]
    if check.status in (CheckStatus.FAIL, CheckStatus.WARN):
        for label, value in (("expected", check.expected), ("observed", check.observed), ("fix", check.fix)):
            if value:
                parts += ["\n  ", Piece(f"{label}:", "bold"), f" {redact(value)}"]
        if check.evidence_files:
            parts += ["\n  ", Piece("evidence:", "bold"), f" {', '.join(check.evidence_files)}"]
    return Styled.of(*parts)


def render_phase(out: Printer, phase: Any) -> None:
    """One phase of a run (a :class:`bmad.engine.runner.PhaseOutcome`)."""
    result = phase.result
    counts = result.counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    head: list[Part] = [Piece(result.phase.label, "bold"), " ", styled(result.status.value)]
    head.append(f"  ({result.duration_seconds:.1f}s" + (f"; {summary})" if summary else ")"))
    if result.forced_reason:
        head += ["  ", Piece(f"forced: {redact(result.forced_reason)}", "yellow")]
    out.print(*head)
    if result.checks:
        render_checks(out, result.checks, warnings_fail=phase.warnings_fail)
    if result.message and result.status is not PhaseStatus.PASSED:
        out.print(f"  {redact(result.message)}")
    if result.metrics:
        metrics = "  ".join(f"{k}={v}" for k, v in result.metrics.items())
        out.print("  ", Piece(f"metrics: {redact(metrics)}", "dim"))
    if phase.evidence_dir:
        out.print("  ", Piece(f"evidence: {phase.evidence_dir}", "dim"))
    if phase.record_error:
        out.print("  ", Piece(f"record not committed: {phase.record_error}", "yellow"))
    out.print()


# ---------------------------------------------------------------------- errors and exit codes


def exit_code_for(exc: BaseException) -> ExitCode:
    if isinstance(exc, BmadError):
        return exc.exit_code
    return ExitCode.INTERNAL


def log_dir() -> Path:
    """Where logs go: ``BMAD_LOG_DIR``, else ``./.bmad/logs`` when ``.bmad`` exists, else the temp dir."""
    configured = os.environ.get("BMAD_LOG_DIR")
    if configured:
        return Path(configured)
    local = Path(".bmad")
    if local.is_dir():
        return local / "logs"
    import tempfile  # only here: it loads shutil and the compression modules

    return Path(tempfile.gettempdir()) / "bmad-logs"


def write_internal_log(exc: BaseException, *, argv: Iterable[str] | None = None) -> Path:
    directory = log_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        import tempfile

        directory = Path(tempfile.gettempdir())
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = directory / f"bmad-error-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    header = f"bmad internal error\nargv: {' '.join(argv or sys.argv)}\n\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(redact(header + text))
    return path


def report_error(exc: BaseException, *, as_json: bool = False, debug: bool = False) -> int:
    """Print an error the user can act on and return its exit code; the traceback only with ``debug``
    (an internal error's traceback is also written to a log file)."""
    code = exit_code_for(exc)
    if isinstance(exc, BmadError):
        text = redact(exc.render())
        payload: dict[str, Any] = {"error": redact(exc.message), "hint": redact(exc.hint) if exc.hint else None}
    else:
        path = write_internal_log(exc)
        text = f"error: internal error, details in {path}"
        payload = {"error": "internal error", "log": str(path)}
    if as_json:
        payload["exit_code"] = int(code)
        print_json(payload)
    if debug:
        echo(redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))), err=True, end="")
    echo(text, err=True)
    return int(code)
