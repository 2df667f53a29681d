"""Where a run keeps its evidence: command transcripts, reports, build logs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol


class EvidenceSink(Protocol):
    """A run's evidence folder.

    Every write is redacted, goes to a temporary name and is renamed into place, mode 0600.
    Returned paths are relative to the folder, for citing in a CheckResult.
    """

    @property
    def root(self) -> Path: ...

    def write_text(self, name: str, content: str) -> str: ...

    def write_bytes(self, name: str, content: bytes) -> str: ...

    def write_json(self, name: str, data: Any) -> str: ...

    def write_aside(self, names: Sequence[str], write: Callable[[Any], None]) -> list[str]:
        """Have ``write(sink)`` write the files ``names``, maybe in a forked child while the run goes
        on; the engine waits for them before anything reads them and before the run returns."""
        ...

    def record_command(
        self,
        argv: Sequence[str],
        *,
        exit_code: int | None,
        stdout: str,
        stderr: str,
        duration_seconds: float,
        label: str | None = None,
    ) -> str: ...
