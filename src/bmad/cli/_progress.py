"""The progress display of long commands (:class:`bmad.ports.progress.Progress`).

On a terminal (stderr) it is Rich's live display, imported only then; anywhere else the tasks
show nothing and :meth:`log` lines are printed on stderr as they come.
"""

from __future__ import annotations

from typing import Any

from bmad.cli._text import Printer, isatty
from bmad.core.redact import redact
from bmad.ports.progress import NullProgress, Task


class PlainProgress(NullProgress):
    """No live display (stderr is not a terminal): only the log lines, on stderr."""

    def __init__(self, err: Printer) -> None:
        self._err = err

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def log(self, message: str) -> None:
        self._err.print(redact(message))


class _RichTask:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._id, amount)

    def update(self, description: str | None = None, *, completed: float | None = None) -> None:
        from bmad.cli._render import esc

        kwargs: dict[str, Any] = {}
        if description is not None:
            kwargs["description"] = esc(description)
        if completed is not None:
            kwargs["completed"] = completed
        self._progress.update(self._id, **kwargs)

    def done(self) -> None:
        self._progress.remove_task(self._id)


class RichProgress:
    """A live display on stderr (a terminal): spinner, description, bar, done/total, elapsed time.

    Use as a context manager around long work; ``log`` prints above the live display. Lines
    printed on stdout meanwhile go above the display too when stdout is the same terminal.
    """

    def __init__(self, *, stdout_is_terminal: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True, highlight=False)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),  # "3/?" for a task without a total
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=stdout_is_terminal,
            redirect_stderr=True,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def task(self, description: str, *, total: float | None = None) -> Task:
        from bmad.cli._render import esc

        return _RichTask(self._progress, self._progress.add_task(esc(description), total=total))

    def log(self, message: str) -> None:
        from bmad.cli._render import esc

        self.console.print(esc(redact(message)))


def progress_display(out: Printer, err: Printer) -> RichProgress | PlainProgress:
    """Rich's live display when stderr is a terminal (a real one: not a CI log with ``FORCE_COLOR``),
    else the log lines alone."""
    if isatty(err.stream):
        return RichProgress(stdout_is_terminal=isatty(out.stream))
    return PlainProgress(err)
