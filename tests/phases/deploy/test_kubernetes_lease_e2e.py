"""``bmad run`` against a cluster whose target another checkout is deploying (issue 19).

Two checkouts with separate ledgers both deployed one service to one cluster; now DEPLOY holds a Lease
in the release's namespace. The real CLI runs as a subprocess against the faithful stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bmad.adapters.targets.kubernetes.lease import micro_time
from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import KubeService, digest
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
