"""The fixed cost of recording a phase: what one phase run asks of the ledger and of git.

Counted on the real components: a :class:`Ledger` that notes its reads, and a ``git`` on PATH that
notes each command before it runs the real one.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import PhaseName, Release
from bmad.engine import run_release
from bmad.ledger import Ledger
from bmad.ledger.records import ReleaseHistory
from tests.engine.support import make_service


class CountingLedger(Ledger):
    """The real ledger, counting the reads of one release's history."""

    release_reads = 0

    def get_release(self, service: str, environment: str, version: str, **kwargs: Any) -> ReleaseHistory | None:
        self.release_reads += 1
        return super().get_release(service, environment, version, **kwargs)

    def list_releases(self, **kwargs: Any) -> list[ReleaseHistory]:
        self.release_reads += 1
        return super().list_releases(**kwargs)


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return make_service(tmp_path / "svc")


def test_a_gated_phase_reads_its_release_once(service: Path) -> None:
    """Guards the fixed cost of a phase: the gate and the phase share one read of the release's
    history; the documents written after the run read it once more (and the other releases only as
    outlines)."""
    assert run_release(service / "bmad.yaml", "dev", phases=["build"]).passed
    with CountingLedger.open(None, state_dir=service / ".bmad") as ledger:
        outcome = run_release(service / "bmad.yaml", "dev", phases=["measure"], ledger=ledger)
        assert outcome.passed
        assert ledger.release_reads == 2
        # the phase still saw what BUILD recorded
        assert outcome.phases[0].result.checks[0].evidence["saw_build_artifact"] == 1


def _git_shim(folder: Path, log: Path) -> Path:
    real = shutil.which("git")
    assert real is not None
    folder.mkdir()
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return folder


def test_recording_a_phase_runs_few_git_commands(
    service: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the fixed cost of a phase: 13 git commands for one phase before issue 13 (the
    repository's top folder asked twice, HEAD and the top folder separately), 10 before the record
    became one ``git fast-import``; 7 now (the first record also reads the branch it creates)."""
    log = tmp_path / "git.log"
    monkeypatch.setenv("PATH", f"{_git_shim(tmp_path / 'shim', log)}{os.pathsep}{os.environ['PATH']}")
    outcome = run_release(service / "bmad.yaml", "dev", phases=["build"])
    assert outcome.passed and outcome.phases[0].record_commit
    commands = log.read_text(encoding="utf-8").splitlines()
    assert sum("--show-toplevel" in command for command in commands) == 1, commands
    assert len(commands) <= 7, commands
    # the record is one fast-import, not a temporary index and five plumbing commands
    assert sum(command.split()[2] == "fast-import" for command in commands) == 1, commands
    assert not [command for command in commands if command.split()[2] in ("read-tree", "update-ref")], commands


def test_in_ci_git_is_not_asked_who_deploys(service: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the fixed cost of a phase in CI: ``git config user.email`` ran though the CI user wins."""
    log = tmp_path / "git.log"
    monkeypatch.setenv("PATH", f"{_git_shim(tmp_path / 'shim', log)}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    outcome = run_release(service / "bmad.yaml", "dev", phases=["build"])
    assert outcome.passed
    assert not [command for command in log.read_text(encoding="utf-8").splitlines() if "user.email" in command]
    with Ledger.open(None, state_dir=service / ".bmad") as ledger:
        stored = ledger.get_release("hello", "dev", outcome.release.version)
    assert stored is not None and stored.phases[PhaseName.BUILD].deployer.actor == "octocat"


def test_the_release_is_the_head_commit_with_its_time(service: Path) -> None:
    outcome = run_release(service / "bmad.yaml", "dev", phases=["build"])
    release: Release = outcome.release
    with Ledger.open(None, state_dir=service / ".bmad") as ledger:
        stored = ledger.get_release("hello", "dev", release.version)
    assert stored is not None and stored.release.commit_time == release.commit_time
    assert release.commit_time is not None and not release.dirty
