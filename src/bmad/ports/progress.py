"""Progress reporting for long work (builds, pushes, load tests, rollouts)."""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    def advance(self, amount: float = 1) -> None: ...
    def update(self, description: str | None = None, *, completed: float | None = None) -> None: ...
    def done(self) -> None: ...


class Progress(Protocol):
    def task(self, description: str, *, total: float | None = None) -> Task: ...
    def log(self, message: str) -> None: ...


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        return None

    def update(self, description: str | None = None, *, completed: float | None = None) -> None:
        return None

    def done(self) -> None:
        return None


class NullProgress:
    """Reports nothing: for the library used without a terminal, and for tests."""

    def task(self, description: str, *, total: float | None = None) -> Task:
        return _NullTask()

    def log(self, message: str) -> None:
        return None
