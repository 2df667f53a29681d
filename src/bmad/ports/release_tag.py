"""Marking a release in its git repository (the rollback point of the BUILD phase)."""

from __future__ import annotations

from typing import Literal, Protocol

from bmad.core.datatypes import datatype


@datatype(frozen=True)
class TagOutcome:
    """What tagging a release did to its git tag: created, kept or moved."""

    name: str
    action: Literal["created", "unchanged", "moved"]
    previous_message: str | None = None


class ReleaseTagger(Protocol):
    def tag(self, name: str, *, commit: str, message: str) -> TagOutcome:
        """Create (or keep, when identical) an annotated tag on ``commit``."""
        ...

    def has_remote(self, remote: str) -> bool: ...

    def push(self, name: str, *, remote: str, force: bool = False) -> None:
        """Push the tag to ``remote``; raises AdapterError on failure."""
        ...
