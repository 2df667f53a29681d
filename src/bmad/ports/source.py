"""The service's source history: what changed between two commits (for ``bmad assess``)."""

from __future__ import annotations

from typing import Protocol

from bmad.core.datatypes import datatype


@datatype(frozen=True)
class ChangedFile:
    path: str
    status: str  # A added, M modified, D deleted, R renamed, C copied, T type change
    additions: int = 0
    deletions: int = 0
    old_path: str | None = None


class SourceHistory(Protocol):
    def head(self) -> str:
        """The commit checked out (full sha)."""
        ...

    def resolve(self, ref: str) -> str | None:
        """Full sha of ``ref``, or None when it does not exist."""
        ...

    def changed_files(self, base: str | None, head: str) -> list[ChangedFile]:
        """Files changed from ``base`` to ``head``; every file of ``head`` when ``base`` is None."""
        ...

    def diff_text(self, base: str | None, head: str, paths: list[str], *, max_bytes: int = 200_000) -> str:
        """The unified diff of ``paths`` (cut at ``max_bytes``); used to spot security keywords."""
        ...
