"""A preview of the release candidate: BUILD's image, pinned by digest, running beside the serving
release so that MEASURE's load test loads the version about to be deployed."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from bmad.core.datatypes import datatype


@datatype(frozen=True)
class CandidateImage:
    """The image BUILD pushed for this release."""

    repository: str  # e.g. 127.0.0.1:5000/hello
    digest: str  # sha256:...

    @property
    def pinned(self) -> str:
        """``repository@digest``."""
        return f"{self.repository}@{self.digest}"


class CandidatePreview(Protocol):
    """Starts a temporary instance of the candidate; it is stopped and removed on leaving the context,
    whatever happens inside."""

    def running(self, image: CandidateImage) -> AbstractContextManager[str]:
        """The preview's base URL (``http://127.0.0.1:PORT``) once it answers its health path."""
        ...
