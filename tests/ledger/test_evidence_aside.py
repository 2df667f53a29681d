"""Evidence files written aside (EvidenceFolder.write_aside, finish_writes): the same bytes as written
here, redacted, 0600, in place once finish_writes returns, and written here when the child fails."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from bmad.core import aside
from bmad.core.redact import forget_secrets, register_secret
from bmad.ledger.evidence import EvidenceFolder, finish_writes, redacted_as_written
from bmad.ports.evidence import EvidenceSink

SECRET = "aside-registered-9f3c"
DATA = {"items": [{"id": f"X-{i}", "message": f"token {SECRET} at {i}", "n": i} for i in range(300)]}


def _write(evidence: EvidenceSink) -> None:
    evidence.write_json("analyze/report.json", DATA)
    evidence.write_text("analyze/report.sarif", f'{{"note": "password=hunter2hunter2 {SECRET}"}}')


def _files(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in ("analyze/report.json", "analyze/report.sarif")}


@pytest.fixture(autouse=True)
def _secret() -> object:
    register_secret(SECRET)
    yield
    forget_secrets()
    assert finish_writes() == []  # no test leaves a child behind


def test_files_written_aside_are_the_bytes_written_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = EvidenceFolder(tmp_path / "here")
    _write(here)
    folder = EvidenceFolder(tmp_path / "aside")
    names = folder.write_aside(["analyze/report.json", "analyze/report.sarif"], _write)
    assert names == ["analyze/report.json", "analyze/report.sarif"]
    assert finish_writes() == []
    assert _files(folder.root) == _files(here.root)
    for name, content in _files(folder.root).items():
        assert SECRET.encode() not in content and b"hunter2hunter2" not in content, name
        path = folder.root / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert redacted_as_written(path)  # publishing copies it without redacting it again


def test_without_a_child_the_files_are_written_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BMAD_NO_FORK", "1")
    folder = EvidenceFolder(tmp_path / "now")
    folder.write_aside(["analyze/report.json", "analyze/report.sarif"], _write)
    assert (folder.root / "analyze/report.sarif").is_file()  # before finish_writes


@pytest.mark.skipif(not aside.enabled(), reason="work is done aside on Linux only")
def test_files_whose_child_failed_are_written_here(tmp_path: Path) -> None:
    parent = os.getpid()

    def fails_in_the_child(evidence: EvidenceSink) -> None:
        if os.getpid() != parent:
            raise OSError("no space left on device")
        _write(evidence)

    folder = EvidenceFolder(tmp_path / "retried")
    folder.write_aside(["analyze/report.json", "analyze/report.sarif"], fails_in_the_child)
    assert finish_writes() == []
    assert set(_files(folder.root)) == {"analyze/report.json", "analyze/report.sarif"}


@pytest.mark.skipif(not aside.enabled(), reason="work is done aside on Linux only")
def test_a_child_that_hangs_is_killed_and_its_partial_file_removed(tmp_path: Path) -> None:
    parent = os.getpid()
    folder = EvidenceFolder(tmp_path / "hung")

    def hangs_in_the_child(evidence: EvidenceSink) -> None:
        if os.getpid() != parent:
            (folder.root / "analyze").mkdir(parents=True, exist_ok=True)
            (folder.root / "analyze/.report.json.0123456789ab.tmp").write_text("half")  # as write_atomic names it
            time.sleep(60)
        _write(evidence)

    folder.write_aside(["analyze/report.json", "analyze/report.sarif"], hangs_in_the_child)
    started = time.monotonic()
    while not (folder.root / "analyze/.report.json.0123456789ab.tmp").exists() and time.monotonic() - started < 10:
        time.sleep(0.01)
    assert finish_writes(timeout=0.5) == []
    assert sorted(p.name for p in (folder.root / "analyze").iterdir()) == ["report.json", "report.sarif"]


def test_files_that_cannot_be_written_anywhere_are_one_problem_line(tmp_path: Path) -> None:
    def always_fails(evidence: EvidenceSink) -> None:
        raise OSError(28, "No space left on device")

    folder = EvidenceFolder(tmp_path / "full")
    if aside.enabled():
        folder.write_aside(["analyze/report.json"], always_fails)
        (problem,) = finish_writes()
        assert "analyze/report.json" in problem and "No space left on device" in problem
    else:
        with pytest.raises(OSError):
            folder.write_aside(["analyze/report.json"], always_fails)
