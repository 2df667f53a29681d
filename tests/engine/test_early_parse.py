"""`bmad analyze` begins reading a large manifests folder in a forked child as the run starts, while the
ledger opens and the gate is checked (issue 13): the phase claims that read, and a run that does not
reach the phase leaves no child behind. Real forks, the real engine (the CLI's equality with a read in
one process: tests/phases/analyze/test_manifest_files_aside.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bmad.core import aside
from bmad.core.errors import GateRefused
from bmad.core.models import PhaseName
from bmad.engine import run_release
from tests.phases.analyze.test_manifest_files_aside import write_large_bundle
from tests.phases.analyze.test_phase import make_project

pytestmark = pytest.mark.skipif(not aside.enabled(), reason="work is done aside on Linux only")


def _children() -> set[int]:
    """This process's child processes, alive or not yet reaped (each thread's list)."""
    found: set[int] = set()
    for listing in Path("/proc/self/task").glob("*/children"):
        found.update(int(pid) for pid in listing.read_text().split())
    return found


def _project(tmp_path: Path, git_repo: Callable[..., Path]) -> Path:
    repo = make_project(tmp_path, git_repo, objects=[])
    write_large_bundle(repo / "k8s")
    git_repo("svc", files={"k8s/all.yaml": ""}, message="a large bundle")
    return repo


def _said(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.name == "bmad.analyze")


def test_analyze_claims_the_read_begun_as_the_run_started(
    tmp_path: Path, git_repo: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    repo = _project(tmp_path, git_repo)
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="bmad.analyze"):
        outcome = run_release(repo / "bmad.yaml", "production", phases=["analyze"], force=True, reason="test")
    assert [p.result.phase for p in outcome.phases] == [PhaseName.ANALYZE]
    said = _said(caplog)
    assert "manifest files early, in child" in said and "claimed" in said
    assert _children() == before  # reaped


def test_an_analyze_the_gate_refuses_leaves_no_child_behind(
    tmp_path: Path, git_repo: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    repo = _project(tmp_path, git_repo)
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="bmad.analyze"), pytest.raises(GateRefused):
        run_release(repo / "bmad.yaml", "production", phases=["analyze"])  # MEASURE never passed
    said = _said(caplog)
    assert "manifest files early, in child" in said and "claimed" not in said
    assert _children() == before  # the child, blocked handing back a megabyte, was killed and reaped


@pytest.mark.parametrize("phases", [["deploy"], ["measure", "analyze"]], ids=["deploy", "measure first"])
def test_a_run_that_does_not_start_with_analyze_reads_nothing_early(
    phases: list[str], tmp_path: Path, git_repo: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    repo = _project(tmp_path, git_repo)
    with caplog.at_level(logging.DEBUG, logger="bmad.analyze"), pytest.raises(GateRefused):
        run_release(repo / "bmad.yaml", "production", phases=phases)
    assert "early" not in _said(caplog)
