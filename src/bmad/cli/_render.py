"""Rendering shared by every ``bmad`` command: check tables, JSON output, errors and exit codes,
and a Rich progress display implementing :class:`bmad.ports.progress.Progress`.

Every line bmad prints goes through :func:`terminal_safe` (directly, or through :func:`echo`,
:func:`esc` for Rich markup, :func:`print_json` and :func:`report_error`): text from outside
(a ``--reason``, a manifest, a tool's output) cannot move the cursor, clear the screen or set
the window title. Rich is imported inside the functions.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.core.errors import BmadError, ExitCode
from bmad.core.models import CheckResult, CheckStatus, PhaseStatus
from bmad.core.redact import redact, redact_data

if TYPE_CHECKING:
    from rich.console import Console

    from bmad.ports.progress import Task

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


# C0 controls but newline and tab, DEL, and C1 controls (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character but newline and tab written as ``\\xNN``."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def echo(text: str = "", *, err: bool = False, end: str = "\n") -> None:
    """Print one plain line (or several) on stdout or stderr, control characters escaped."""
    stream = sys.stderr if err else sys.stdout
    stream.write(terminal_safe(text) + end)
    stream.flush()


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = 160  # pipes and log files: do not squeeze tables into 80 columns
    return out


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status


def esc(text: str) -> str:
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


def render_checks(
    out: Console,
    checks: Sequence[CheckResult],
    *,
    warnings_fail: bool = False,
    title: str | None = None,
    group: bool = True,
) -> None:
    """A table of checks grouped by category; failures and warnings get what/expected/observed/fix lines."""
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold", box=None, pad_edge=False, expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("what", overflow="fold")
    table.add_column("time", justify="right", no_wrap=True)
    ordered = (
        sorted(enumerate(checks), key=lambda item: (category_of(item[1].id), item[0])) if group else enumerate(checks)
    )
    last_category = None
    for _, check in ordered:
        category = category_of(check.id)
        if group and category and category != last_category and len(checks) > 1:
            table.add_row("", f"[bold]{esc(category)}[/bold]", "", "")
            last_category = category
        status = check.status.value
        shown = styled(status)
        if check.status is CheckStatus.WARN and warnings_fail:
            shown += " [red](counts as fail)[/red]"
        what = esc(redact(check.title))
        if check.summary and check.status is not CheckStatus.PASS:
            what += f"\n[dim]{esc(redact(check.summary))}[/dim]"
        if check.status in (CheckStatus.FAIL, CheckStatus.WARN):
            for label, value in (("expected", check.expected), ("observed", check.observed), ("fix", check.fix)):
                if value:
                    what += f"\n  [bold]{label}:[/bold] {esc(redact(value))}"
            if check.evidence_files:
                what += f"\n  [bold]evidence:[/bold] {esc(', '.join(check.evidence_files))}"
        table.add_row(shown, esc(check.id), what, f"{check.duration_seconds:.2f}s")
    out.print(table)


def render_phase(out: Console, phase: Any) -> None:
    """One phase of a run (a :class:`bmad.engine.runner.PhaseOutcome`)."""
    result = phase.result
    counts = result.counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    head = f"[bold]{result.phase.label}[/bold] {styled(result.status.value)}  ({result.duration_seconds:.1f}s"
    head += f"; {summary})" if summary else ")"
    if result.forced_reason:
        head += f"  [yellow]forced: {esc(redact(result.forced_reason))}[/yellow]"
    out.print(head)
    if result.checks:
        render_checks(out, result.checks, warnings_fail=phase.warnings_fail)
    if result.message and result.status is not PhaseStatus.PASSED:
        out.print(f"  {esc(redact(result.message))}")
    if result.metrics:
        metrics = "  ".join(f"{k}={v}" for k, v in result.metrics.items())
        out.print(f"  [dim]metrics: {esc(redact(metrics))}[/dim]")
    if phase.evidence_dir:
        out.print(f"  [dim]evidence: {esc(str(phase.evidence_dir))}[/dim]")
    if phase.record_error:
        out.print(f"  [yellow]record not committed: {esc(phase.record_error)}[/yellow]")
    out.print()


# ---------------------------------------------------------------------- progress


class _RichTask:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._id, amount)

    def update(self, description: str | None = None, *, completed: float | None = None) -> None:
        kwargs: dict[str, Any] = {}
        if description is not None:
            kwargs["description"] = esc(description)
        if completed is not None:
            kwargs["completed"] = completed
        self._progress.update(self._id, **kwargs)

    def done(self) -> None:
        self._progress.remove_task(self._id)


class RichProgress:
    """:class:`bmad.ports.progress.Progress` on a Rich live display (stderr, only on a terminal).

    Use as a context manager around long work; ``log`` prints above the live display.
    """

    def __init__(self, out: Console | None = None) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = out or console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def task(self, description: str, *, total: float | None = None) -> Task:
        return _RichTask(self._progress, self._progress.add_task(esc(description), total=total))

    def log(self, message: str) -> None:
        self.console.print(esc(redact(message)))


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
