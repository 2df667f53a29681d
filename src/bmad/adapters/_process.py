"""The one place bmad starts external programs.

Programs run from an argument list (never a shell string), with a timeout. Each call can be
recorded in the run's evidence folder: argv (secrets redacted), exit code, stdout, stderr.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bmad.core.errors import AdapterError
from bmad.core.redact import redact, redact_argv
from bmad.ports.evidence import EvidenceSink


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_seconds: float
    evidence_file: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = 20) -> str:
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).rstrip()
        return redact("\n".join(text.splitlines()[-lines:]))


def run_command(
    argv: Sequence[str],
    *,
    system: str | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    input_text: str | None = None,
    evidence: EvidenceSink | None = None,
    label: str | None = None,
    check: bool = False,
) -> CommandResult:
    """Run ``argv`` and capture its output.

    ``env`` is added to the current environment. A missing program or a timeout raises
    AdapterError (the program could not be run); a non-zero exit raises only with ``check``.
    """
    args = [str(a) for a in argv]
    name = system or Path(args[0]).name
    full_env = {**os.environ, **env} if env else None
    started = time.monotonic()
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=full_env,
            input=input_text,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise AdapterError(name, f"running {args[0]}", "program not found", hint=f"install {args[0]}") from None
    except subprocess.TimeoutExpired as exc:
        duration = time.monotonic() - started
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        if evidence is not None:
            evidence.record_command(
                args, exit_code=None, stdout=out, stderr=err, duration_seconds=duration, label=label
            )
        raise AdapterError(
            name, f"running {' '.join(redact_argv(args[:3]))}", f"timed out after {timeout:.0f}s", temporary=True
        ) from None
    duration = time.monotonic() - started
    evidence_file = None
    if evidence is not None:
        evidence_file = evidence.record_command(
            args,
            exit_code=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            duration_seconds=duration,
            label=label,
        )
    result = CommandResult(
        argv=tuple(args),
        exit_code=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        duration_seconds=duration,
        evidence_file=evidence_file,
    )
    if check and not result.ok:
        raise AdapterError(
            name,
            f"running {' '.join(redact_argv(args[:3]))}",
            result.tail(5),
            status=proc.returncode,
        )
    return result
