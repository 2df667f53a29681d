"""What every bad-input case asserts: one clear error naming the file (and the line marked
``# <-`` in the input, where there is one), the documented exit code, no traceback, fast."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmad.core.errors import BmadError, ExitCode

TIME_BOUND_SECONDS = 1.0
MEMORY_BOUND_BYTES = 1024 * 1024 * 1024  # address space of a subprocess for the big cases


@dataclass(frozen=True)
class Case:
    """One bad input: its text, a phrase the error must contain, and the line it must name."""

    name: str
    text: str
    says: str

    @property
    def line(self) -> int | None:
        """The line marked ``# <-`` (None: the error names the file only)."""
        marked = [number for number, line in enumerate(self.text.splitlines(), 1) if "# <-" in line]
        return marked[0] if marked else None


def cases(table: Mapping[str, tuple[str, str]]) -> list[object]:
    return [pytest.param(Case(name, text, says), id=name) for name, (text, says) in table.items()]


def assert_refused(load: Callable[[], object], case: Case, *, file: str, exit_code: ExitCode = ExitCode.USAGE) -> None:
    """``load`` raises one clear :class:`BmadError` for ``case`` within the time bound."""
    started = time.perf_counter()
    with pytest.raises(BmadError) as caught:
        load()
    elapsed = time.perf_counter() - started
    error = caught.value
    assert error.exit_code == exit_code, error.message
    assert case.says in error.message, error.message
    assert error.message.startswith(file), error.message
    if case.line is not None:
        assert f"{file}:{case.line}" in error.message, error.message
    assert elapsed < TIME_BOUND_SECONDS, f"{case.name}: {elapsed:.2f} s"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_bounded(argv: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 60) -> Run:
    """``argv`` in a subprocess with at most :data:`MEMORY_BOUND_BYTES` of address space."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND_BYTES, MEMORY_BOUND_BYTES))

    started = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, preexec_fn=cap, check=False
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def python_argv(code: str) -> list[str]:
    return [sys.executable, "-c", code]
