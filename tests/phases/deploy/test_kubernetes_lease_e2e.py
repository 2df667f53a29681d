"""``bmad run`` against a cluster whose target another checkout is deploying (issue 19).

Two checkouts with separate ledgers both deployed one service to one cluster; now DEPLOY holds a Lease
in the release's namespace. The real CLI runs as a subprocess against the faithful stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bmad.adapters.targets.kubernetes.lease import micro_time
from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import REPOSITORY, KubeService, bmad_env, digest
from tests.phases.deploy.test_kubernetes_e2e import deployment

pytestmark = [pytest.mark.slow]

NS = "team-a"
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/bmad-locked-test"
OTHER = "other-host/4242/ledger-abcdef012345/run9"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def _lease(renewed: datetime, resource_version: str | None = None, duration: int = 600) -> dict[str, object]:
    metadata: dict[str, object] = {"name": "bmad-locked-test", "namespace": NS}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    spec = {"holderIdentity": OTHER, "leaseDurationSeconds": duration, "renewTime": micro_time(renewed)}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}


def test_a_run_is_refused_while_another_checkout_holds_the_lease_and_takes_it_once_expired(
    tmp_path: Path, standin: StandIn
) -> None:
    """Guards: nothing on the cluster stopped a second checkout from deploying the same service."""
    svc = KubeService.create(tmp_path, standin, "locked", context="ci", settings={})
    svc.release([deployment("locked")], "first release")
    created = standin.request("POST", LEASE.rsplit("/", 1)[0], _lease(datetime.now(UTC)))
    assert created.status == 201, created.body
    refused = svc.run(digest("1"))
    assert refused.code == 1, refused.explain()
    assert f"is being deployed by {OTHER}" in refused.stderr and "Traceback" not in refused.stderr
    assert standin.get(f"/apis/apps/v1/namespaces/{NS}/deployments/locked") == {}  # nothing applied

    stale = _lease(datetime.now(UTC) - timedelta(hours=1), created.body["metadata"]["resourceVersion"], duration=2)
    assert standin.request("PUT", LEASE, stale).status == 200  # the holder died an hour ago
    # (taken over once this run has watched it unchanged for its 2 s duration by its own clock)
    taken = svc.run(digest("1"))
    assert taken.code == 0, taken.explain()
    spec = standin.get(LEASE)["spec"]
    assert "holderIdentity" not in spec and spec["leaseTransitions"] == 1, spec  # taken over, then released


def test_a_lease_taken_mid_deploy_stops_deploy_before_its_next_step_and_rolls_back(
    tmp_path: Path, standin: StandIn
) -> None:
    """Guards issue 19: the heartbeat saw the Lease taken by another identity and only stopped renewing;
    DEPLOY went on to roll out and cut over a target another run now owned."""
    svc = KubeService.create(tmp_path, standin, "stolen", context="ci", settings={})
    path = svc.repo / "bmad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["ledger"] = {"lock_lease_seconds": 3}  # heartbeat every second
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    svc.release([deployment("stolen")], "first release")
    first = svc.run(digest("1"))
    assert first.code == 0, first.explain()
    svc.release([deployment("stolen", replicas=3)], "second release")
    lease_path = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/bmad-stolen-test"
    slow = {"kind": "slow", "method": "GET", "path": f"namespaces/{NS}/deployments", "delay": 2.0, "times": 4}
    standin.control("POST", "faults", {"rules": [slow]})
    sets = [f"image={REPOSITORY}", f"digest={digest('2')}", "no_reports=true"]
    command = [sys.executable, "-m", "bmad", "run", "-c", "bmad.yaml", "-e", "test", "--json"]
    command += [arg for value in sets for arg in ("--set", value)]
    run = subprocess.Popen(
        command, cwd=svc.repo, env=bmad_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        held = standin.wait_for(lambda: (standin.get(lease_path).get("spec") or {}).get("holderIdentity"), 120)
        assert held, "DEPLOY never took the Lease"
        assert standin.wait_for(lambda: _take(standin, lease_path), 10)  # another checkout takes it
        stdout, stderr = run.communicate(timeout=240)
    finally:
        run.kill()
        run.wait(timeout=10)
        standin.control("DELETE", "faults")
    document = json.loads(stdout)
    deploy = next(p for p in document["phases"] if p["phase"] == "deploy")
    checks = {c["id"]: c for c in deploy["checks"]}
    assert run.returncode == 1 and deploy["status"] == "failed", stderr[-3000:]
    lost = [c for c in checks.values() if c["status"] == "fail" and "lock was lost" in c["summary"]]
    assert lost and f"now held by {OTHER}" in lost[0]["summary"], checks
    assert checks["deploy.cutover"]["status"] != "pass"  # no cut-over after the lock was lost
    assert checks["deploy.rollback"]["status"] == "pass", checks["deploy.rollback"]  # as for any DEPLOY failure
    assert standin.get(lease_path)["spec"]["holderIdentity"] == OTHER  # the new holder keeps it
    assert "Traceback" not in stderr


def _take(standin: StandIn, lease_path: str) -> bool:
    """Write OTHER as the holder (False on a 409: the heartbeat renewed between our read and write)."""
    lease = standin.get(lease_path)
    lease["spec"] = {**lease["spec"], "holderIdentity": OTHER, "leaseDurationSeconds": 600}
    return standin.request("PUT", lease_path, lease).status == 200
