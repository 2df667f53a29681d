"""Adapters' way to run a program: :func:`bmad.core.process.run`, recorded in a run's evidence.

Each call can be recorded in the run's evidence folder: argv (secrets redacted), exit code,
stdout, stderr.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bmad.core import process
from bmad.core.process import ProcessResult, RecordTranscript, Transcript
from bmad.core.spans import SpanKind
from bmad.ports.evidence import EvidenceSink

CommandResult = ProcessResult


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
    waits_on: SpanKind | None = None,
) -> CommandResult:
    """Run ``argv`` and capture its output, recorded in ``evidence`` when given.

    ``env`` is added to the current environment. A missing program or a timeout raises
    AdapterError (the program could not be run); a non-zero exit raises only with ``check``.
    """
    return process.run(
        argv,
        system=system,
        cwd=cwd,
        env=env,
        timeout=timeout,
        input_text=input_text,
        check=check,
        waits_on=waits_on,
        record=evidence_recorder(evidence, label) if evidence is not None else None,
    )


def evidence_recorder(evidence: EvidenceSink, label: str | None) -> RecordTranscript:
    """A ``record`` callback that writes each transcript to ``evidence``."""

    def record(transcript: Transcript) -> str | None:
        return evidence.record_command(
            transcript.argv,
            exit_code=transcript.exit_code,
            stdout=transcript.stdout,
            stderr=transcript.stderr,
            duration_seconds=transcript.duration_seconds,
            label=label,
        )

    return record
