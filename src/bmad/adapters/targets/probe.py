"""Data-plane access to the deployed service: HTTP probes and the service's own smoke suite."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bmad.adapters._http import url_path
from bmad.adapters._process import run_command
from bmad.core.errors import AdapterError
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, waiting
from bmad.ports.evidence import EvidenceSink
from bmad.ports.target import ProbeResponse, SuiteOutcome

_BODY_LIMIT = 256 * 1024


class RequestsProbe:
    """``HttpProbe`` with a fresh connection per probe (a kept-alive socket would hide a restart)."""

    def get(self, url: str, *, timeout: float) -> ProbeResponse:
        import requests

        started = time.monotonic()
        try:
            with waiting(SpanKind.SERVICE, f"probe {url_path(url)}"):
                response = requests.get(url, timeout=timeout)
        except requests.RequestException as exc:
            return ProbeResponse(url, 0, "", time.monotonic() - started, error=redact(type(exc).__name__))
        body = response.text[:_BODY_LIMIT]
        return ProbeResponse(url, response.status_code, body, time.monotonic() - started)


class CommandSuiteRunner:
    """Runs the smoke suite through the process seam and reads the JUnit XML it writes."""

    def __init__(self, evidence: EvidenceSink | None = None) -> None:
        self._evidence = evidence

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, timeout: float, junit_path: str | None
    ) -> SuiteOutcome:
        junit = Path(cwd, junit_path) if junit_path else None
        if junit is not None and junit.exists():
            junit.unlink()  # never read a previous run's report
        started = time.monotonic()
        try:
            result = run_command(
                list(argv),
                cwd=cwd,
                env=dict(env),
                timeout=timeout,
                evidence=self._evidence,
                label="smoke suite",
                waits_on=SpanKind.SERVICE,
            )
            exit_code: int | None = result.exit_code
            tail = result.tail(30)
            evidence_file = result.evidence_file
        except AdapterError as exc:
            exit_code, tail, evidence_file = None, exc.message, None
        xml = None
        if junit is not None and junit.is_file():
            xml = junit.read_text(encoding="utf-8", errors="replace")
        return SuiteOutcome(
            argv=tuple(argv),
            exit_code=exit_code,
            output_tail=tail,
            junit_xml=xml,
            seconds=time.monotonic() - started,
            evidence_file=evidence_file,
        )
