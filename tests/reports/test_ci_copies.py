"""The SARIF and JUnit copies next to the documents: redacted, and not scanned twice when this run
wrote them redacted and no secret was registered since (issue 13, session 6)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bmad.core.models import PhaseName
from bmad.core.redact import MASK, forget_secrets, register_secret
from bmad.ledger.evidence import EvidenceFolder, redacted_as_written
from bmad.reports.outputs import collect_ci_files

SARIF = '{"runs": [{"results": [{"message": {"text": "uses s3cr3t-value-42 in env"}}]}]}'


@pytest.fixture(autouse=True)
def _no_secrets() -> Any:
    forget_secrets()
    yield
    forget_secrets()


def _evidence(state: Path) -> tuple[EvidenceFolder, Any]:
    folder = EvidenceFolder(state / "runs" / "svc" / "dev" / "abc" / "analyze-1")
    view = SimpleNamespace(evidence_dirs={PhaseName.ANALYZE: "runs/svc/dev/abc/analyze-1"})
    return folder, view


def test_a_file_written_redacted_by_this_process_stays_so_until_it_or_the_secrets_change(tmp_path: Path) -> None:
    folder, _ = _evidence(tmp_path)
    path = folder.root / folder.write_text("analyze/readiness.sarif", SARIF)
    json_path = folder.root / folder.write_json("analyze/readiness.json", {"a": 1})
    raw_path = folder.root / folder.write_bytes("analyze/raw.sarif", SARIF.encode())
    assert redacted_as_written(path) and redacted_as_written(json_path)
    assert not redacted_as_written(raw_path)  # write_bytes does not redact
    register_secret("s3cr3t-value-42")
    assert not redacted_as_written(path) and not redacted_as_written(json_path)
    path2 = folder.root / folder.write_text("analyze/again.sarif", SARIF)
    assert redacted_as_written(path2)
    with path2.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert not redacted_as_written(path2)  # changed after it was written


def test_the_copy_masks_a_secret_registered_after_the_evidence_was_written(tmp_path: Path) -> None:
    """Fails on a copy that trusts the evidence file blindly: the secret became known after ANALYZE
    wrote the SARIF, and the copy CI uploads must not show it."""
    folder, view = _evidence(tmp_path)
    folder.write_text("analyze/readiness.sarif", SARIF)
    register_secret("s3cr3t-value-42")
    found = collect_ci_files(view, tmp_path, tmp_path / "out")
    copied = found["sarif:analyze-readiness.sarif"].read_text(encoding="utf-8")
    assert "s3cr3t-value-42" not in copied and MASK in copied


def test_the_copy_of_a_file_this_run_wrote_redacted_is_its_bytes(tmp_path: Path) -> None:
    folder, view = _evidence(tmp_path)
    register_secret("s3cr3t-value-42")
    written = folder.root / folder.write_text("analyze/readiness.junit.xml", "<testsuite>" + SARIF + "</testsuite>")
    found = collect_ci_files(view, tmp_path, tmp_path / "out")
    copied = found["junit:analyze-readiness.junit.xml"]
    assert copied.read_bytes() == written.read_bytes()
    assert "s3cr3t-value-42" not in copied.read_text(encoding="utf-8")
    assert copied.stat().st_mode & 0o777 == 0o600
