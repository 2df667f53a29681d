"""Running test suites and the environments they need (compose services or commands with health waits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any, Protocol

from bmad.core.datatypes import datatype
from bmad.ports.images import LineSink


@datatype(frozen=True)
class CommandRun:
    """One command run to its end or its timeout: exit code, redacted output tail, duration."""

    argv: tuple[str, ...]
    exit_code: int | None  # None when it timed out
    output_tail: str  # redacted
    duration_seconds: float
    timed_out: bool = False
    evidence_file: str | None = None


class CommandRunner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        label: str,
    ) -> CommandRun:
        """Run a command to the end (or its timeout). A missing program raises AdapterError."""
        ...


@datatype(frozen=True)
class Wait:
    """What a test environment must answer before the suite runs: a URL or a TCP address."""

    url: str | None = None
    tcp: str | None = None
    timeout_seconds: float = 60.0


@datatype(frozen=True)
class EnvironmentSpec:
    """What to bring up before a suite and tear down after it."""

    project: str  # unique name: containers are labelled with it
    cwd: Path
    compose_file: Path | None = None
    profiles: tuple[str, ...] = ()  # compose profiles to enable
    up: tuple[tuple[str, ...], ...] = ()
    down: tuple[tuple[str, ...], ...] = ()
    waits: tuple[Wait, ...] = ()
    ready_timeout_seconds: float = 120.0


@datatype
class EnvironmentReport:
    """What happened while bringing up / tearing down (evidence; no secret values)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = True
    error: str | None = None


class TestEnvironment(Protocol):
    def up(self, *, on_line: LineSink) -> EnvironmentReport:
        """Bring everything up and wait until healthy. Never raises: failures are in the report."""
        ...

    def down(self) -> EnvironmentReport:
        """Tear everything down (idempotent, safe after a partial ``up``). Never raises."""
        ...

    def leftovers(self) -> list[str]:
        """Containers of this environment that still exist (empty after a clean ``down``)."""
        ...


class TestEnvironments(Protocol):
    def create(self, spec: EnvironmentSpec) -> TestEnvironment: ...
