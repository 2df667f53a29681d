"""Compose mode through the CLI and the ledger (real podman-compose, real Podman, real Prometheus):
``bmad deploy`` killed with SIGKILL once the candidate project started, ``bmad resume``, then
``bmad rollback`` to the previous release's project."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bmad.config.loader import load_config
from bmad.core.models import PhaseName, PhaseResult, PhaseStatus, Release
from tests.helpers import REPO_ROOT, free_port_block
from tests.phases.deploy.conftest import PushedImage
from tests.phases.deploy.test_compose_deploy import (
    SERVICE,
    config_yaml,
    release_served,
)
from tests.phases.deploy.test_compose_deploy import projects as projects
from tests.phases.deploy.test_compose_deploy import pushed_inference as pushed_inference
from tests.phases.deploy.test_resume_and_cli import bmad, git

pytestmark = [pytest.mark.engine, pytest.mark.stack, pytest.mark.slow]

ENV = "cmp-cli"


def record_earlier_phases(config_path: Path, image: PushedImage) -> str:
    """BUILD, MEASURE and ANALYZE passed for HEAD (what those phases would have recorded)."""
    from bmad.engine.runner import open_ledger

    version = git(config_path.parent, "rev-parse", "HEAD")
    release = Release(SERVICE, ENV, version)
    artifacts = {
        PhaseName.BUILD: {"image": image.repository, "image_digest": image.digest},
        PhaseName.MEASURE: {"baseline": {}},
        PhaseName.ANALYZE: {},
    }
    with open_ledger(load_config(config_path)) as ledger:
        for phase, values in artifacts.items():
            ledger.record_phase(release, PhaseResult(phase, PhaseStatus.PASSED, artifacts=values))
    return version


def projects_by_status(engine: Any) -> dict[str, list[str]]:
    """Each compose project of the service with its containers' states."""
    found: dict[str, list[str]] = {}
    for container in engine.containers.list(all=True, filters={"label": f"bmad.service={SERVICE}"}):
        project = container.name.rsplit("_", 2)[0]
        found.setdefault(project, []).append(container.status)
    return {project: sorted(states) for project, states in found.items()}


def kill_once_candidate_started(config_path: Path, engine: Any, version: str) -> None:
    """``bmad deploy`` as a subprocess, SIGKILLed as soon as a container of ``version`` exists."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmad", "deploy", "-c", str(config_path), "--env", ENV, "--json"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        label = {"label": [f"bmad.service={SERVICE}", f"bmad.release={version}"]}
        while not engine.containers.list(all=True, filters=label):
            if time.monotonic() > deadline:
                pytest.fail("the candidate project never started")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_compose_sigkill_mid_deploy_resume_then_cli_rollback(
    git_repo: Any, stack: Any, engine: Any, pushed_inference: PushedImage, projects: str
) -> None:
    """Guards Compose mode through the CLI: after a SIGKILL mid-deploy the previous project still
    serves; ``bmad resume`` removes the unconfirmed candidate project and deploys the release anew
    (no orphan project); ``bmad rollback`` restarts the previous release's kept project and records it."""
    cache, exporter = free_port_block(2), free_port_block(2)

    def text(release: str) -> str:
        return config_yaml(ENV, projects, cache, exporter, stack, json.dumps({"RELEASE": release}))

    repo = git_repo("svc", files={"bmad.yaml": text("r1")})
    config_path = repo / "bmad.yaml"
    v1 = record_earlier_phases(config_path, pushed_inference)
    first = bmad("deploy", "-c", str(config_path), "--env", ENV, "--json", timeout=180)
    assert first.returncode == 0, first.stdout + first.stderr
    assert release_served(f"http://127.0.0.1:{cache}") == "r1"

    config_path.write_text(text("r2"))
    git(repo, "commit", "-qam", "release 2")
    v2 = record_earlier_phases(config_path, pushed_inference)
    kill_once_candidate_started(config_path, engine, v2)
    assert release_served(f"http://127.0.0.1:{cache}") == "r1"  # the previous project still serves

    resumed = bmad("resume", "-c", str(config_path), "--env", ENV, "--json", timeout=180)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [(p["phase"], p["status"]) for p in json.loads(resumed.stdout)["phases"]] == [("deploy", "passed")]
    assert release_served(f"http://127.0.0.1:{cache + 1}") == "r2"
    # No orphan project: the killed candidate g2 was adopted when all its services ran with this very
    # release and configuration, else removed and started anew as g3; the rollback point g1 is kept stopped.
    after = projects_by_status(engine)
    serving = sorted(set(after) - {f"{projects}-g1"})
    assert after[f"{projects}-g1"] == ["exited"] * 3, after
    assert len(serving) == 1 and after[serving[0]] == ["running"] * 3, after

    rolled = bmad("rollback", SERVICE, "-c", str(config_path), "--env", ENV, "--json", timeout=180)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    report = json.loads(rolled.stdout)
    assert (report["from_version"], report["to_version"]) == (v2, v1), report
    assert report["ledger"]["manual"] is True, report
    assert release_served(f"http://127.0.0.1:{cache}") == "r1"
    assert projects_by_status(engine) == {f"{projects}-g1": ["running"] * 3}, projects_by_status(engine)
