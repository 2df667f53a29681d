"""Run the ``bmad`` command line in this process (``bmad.cli.main.main``) and capture what it prints."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from bmad.cli.main import main


@dataclass(frozen=True)
class Invocation:
    """One command's exit code and output."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(argv: Sequence[str]) -> Invocation:
    """``bmad <argv>`` in-process: stdout and stderr captured, the exit code returned (never raised)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return Invocation(code, out.getvalue(), err.getvalue())
