"""Building, inspecting, exporting and pushing container images through a Docker Engine API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Protocol

from bmad.core.datatypes import datatype

LineSink = Callable[[str], None]


@datatype(frozen=True)
class BuildRequest:
    """What to build: the context, the Containerfile, the tags and the build settings."""

    context: Path
    containerfile: Path
    tags: tuple[str, ...]  # full references: registry/name:tag; the first one is used for the build
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 1800.0


@datatype(frozen=True)
class BuildOutcome:
    """Whether a build succeeded, and the image it made."""

    ok: bool
    image_id: str | None
    error: str | None = None  # the builder's own message when ok is False


@datatype(frozen=True)
class HistoryStep:
    """One step of an image's history: the instruction and the layer it added, if any."""

    created_by: str
    empty_layer: bool
    size_bytes: int | None = None


@datatype(frozen=True)
class ImageInfo:
    """A built image as the engine describes it: size, layers, history, env and labels."""

    id: str
    size_bytes: int
    tags: tuple[str, ...]
    diff_ids: tuple[str, ...]  # uncompressed layer digests, base first
    history: tuple[HistoryStep, ...]  # one per Containerfile step, oldest first
    env: tuple[str, ...]
    labels: Mapping[str, str]


@datatype(frozen=True)
class PushOutcome:
    """Where an image was pushed and the manifest digest the engine reported."""

    repository: str
    tag: str
    digest: str | None  # as reported by the engine, when it reports one


class ImageEngine(Protocol):
    def build(self, request: BuildRequest, *, on_line: LineSink) -> BuildOutcome:
        """Build and tag; build output goes line by line to ``on_line``. A failed build is an outcome, not an error."""
        ...

    def inspect(self, ref: str) -> ImageInfo | None:
        """The image's metadata, or None when the engine does not have it."""
        ...

    def export(self, ref: str, dest: Path) -> Path:
        """Write the image as a docker-archive tar (manifest.json, config, one tar per layer) to ``dest``."""
        ...

    def push(self, repository: str, tag: str, *, on_line: LineSink) -> PushOutcome:
        """Push one tag. Raises AdapterError (``temporary`` when retrying may help) when the push fails."""
        ...
