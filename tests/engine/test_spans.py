"""Spans: every wait of a phase on another system, recorded by the engine and kept with the phase."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from bmad.config.loader import load_config
from bmad.core.models import PhaseName
from bmad.core.spans import SpanKind, covered_seconds
from bmad.engine import open_ledger, run_release
from tests.engine.support import git, make_service


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "success"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/status/buildinfo"
    finally:
        server.shutdown()
        server.server_close()


def test_a_phase_records_its_program_and_http_waits_in_result_ledger_record_and_phase_json(
    tmp_path: Path, http_url: str
) -> None:
    """Guards the spans of issue 13: a run's waits on other systems (a program started through the
    process seam, an HTTP call through bmad's session) are recorded with start, end, kind and label,
    inside the phase, and kept in the ledger, the git record and phase.json (before: none anywhere)."""
    service = make_service(tmp_path / "svc")
    options = {"x_build_program": "sleep 0.3", "x_build_http": http_url, "x_build_checks": 1}
    outcome = run_release(service / "bmad.yaml", "dev", phases=[PhaseName.BUILD], options=options)
    build = outcome.phases[0].result
    kinds = {span.kind: span for span in build.spans}
    assert set(kinds) == {SpanKind.PROGRAM, SpanKind.MONITORING}
    program, http = kinds[SpanKind.PROGRAM], kinds[SpanKind.MONITORING]
    # the span covers the time the caller waits (core.process.Running.wait): the program's 0.3 s less
    # whatever the caller did between starting it and waiting (a loaded host: ~1 ms)
    assert program.label == "sleep 0.3" and 0.25 <= program.seconds < 5
    assert http.label == "GET /api/v1/status/buildinfo" and http.seconds < 5
    assert build.started_at is not None and build.finished_at is not None
    assert all(build.started_at <= s.start <= s.end <= build.finished_at for s in build.spans)
    assert 0.3 <= covered_seconds(build.spans) < build.duration_seconds

    with open_ledger(load_config(service / "bmad.yaml")) as ledger:
        history = ledger.latest_release("hello", "dev")
        assert history is not None and history.runs[0].spans == build.spans
        assert ledger.verify().ok  # spans are outside the hash chain: verification unchanged
    record = yaml.safe_load(git(service, "show", f"bmad/records:{outcome.phases[0].record_path}"))
    assert record["spans"] == [span.to_dict() for span in build.spans]
    evidence = service / ".bmad" / str(outcome.phases[0].evidence_dir) / "phase.json"
    assert json.loads(evidence.read_text(encoding="utf-8"))["spans"] == record["spans"]


def test_a_phase_that_waits_on_nothing_records_no_span_and_its_record_is_unchanged(tmp_path: Path) -> None:
    """Spans are additive: a phase with no external wait keeps the record format it had."""
    service = make_service(tmp_path / "svc")
    outcome = run_release(service / "bmad.yaml", "dev", phases=[PhaseName.BUILD])
    assert outcome.phases[0].result.spans == ()
    record = yaml.safe_load(git(service, "show", f"bmad/records:{outcome.phases[0].record_path}"))
    assert "spans" not in record
