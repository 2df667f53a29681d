"""``bmad rollback`` (manual) tells the environment's channels and records the delivery like a run does.

The real CLI as a subprocess takes a service to the Kubernetes API stand-in (tests/kube_apiserver),
then rolls it back by hand; a local receiver stands for the team's webhook."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bmad.core.models import Release
from bmad.ledger import Ledger
from tests.kube_apiserver.harness import StandIn
from tests.notifications.receivers import http_receiver
from tests.phases.deploy.kube_service import KubeService, digest
from tests.phases.deploy.test_kubernetes_e2e import deployment

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def test_a_manual_rollback_sends_rolled_back_and_records_the_delivery(
    tmp_path: Path, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards issue 15: ``bmad rollback`` changed production and told nobody (only runs notified)."""
    svc = KubeService.create(tmp_path, standin, "told", context="ci", settings={})
    path = svc.repo / "bmad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    hook = {"name": "ops-hook", "type": "webhook", "url": {"env": "HOOK_URL"}, "events": ["rolled_back"]}
    config["environments"]["test"]["notifications"] = {"channels": [hook]}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with http_receiver(200) as receiver:
        monkeypatch.setenv("HOOK_URL", receiver.url("/bmad"))
        svc.release([deployment("told")], "first release")
        assert svc.run(digest("1")).code == 0
        good = git_head(svc.repo)
        svc.release([deployment("told", replicas=3)], "second release")
        second = svc.run(digest("2"))
        assert second.code == 0, second.explain()
        assert receiver.received == []  # both runs passed: nothing to say on this channel
        rolled = svc.bmad([sys.executable, "-m", "bmad", "rollback", "-c", "bmad.yaml", "-e", "test", "--json"])
    assert rolled.code == 0, rolled.stderr[-3000:]
    sent = rolled.document["notifications"]
    assert [(s["channel"], s["event"], s["delivered"]) for s in sent] == [("ops-hook", "rolled_back", True)]
    assert len(receiver.received) == 1
    body = receiver.received[0].json()
    assert body["event"] == "rolled_back" and f"rolled back to {good[:12]}" in body["title"]
    with Ledger.open(state_dir=svc.repo / ".bmad") as ledger:
        logged = ledger.deliveries(Release("told", "test", git_head(svc.repo)))
    assert [(r.channel, r.event, r.delivered) for r in logged] == [("ops-hook", "rolled_back", True)]
    assert receiver.url("/bmad") not in json.dumps(rolled.document)


def git_head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
