"""The Kubernetes target's own lock, a Lease in the release's namespace, on the faithful stand-in.

Guards issue 19: two checkouts with separate ledgers both deployed one service to one cluster;
nothing on the cluster said that a run was deploying it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bmad.adapters.targets.kubernetes.lease import TargetLease, keep_renewed, micro_time
from bmad.core.errors import ExitCode, LockHeld
from tests.adapters.targets.kubernetes.conftest import make_target
from tests.kube_apiserver.harness import StandIn

NS = "team-a"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
ROOT = Path(__file__).resolve().parents[4]


def _spec(standin: StandIn, name: str) -> dict[str, object]:
    return dict(standin.get(f"{LEASES}/{name}").get("spec") or {})


def test_a_second_runner_is_refused_naming_the_holder_until_the_first_releases(standin: StandIn) -> None:
    """Guards: nothing on the cluster refused a second runner while the first deployed."""
    first, second = make_target(standin, context="ci"), make_target(standin, context="ci")
    with first.hold_lock("shop", "prod", identity="host-a/11/ledger-aaaa/run1", lease_seconds=30) as lease:
        assert lease is not None and lease.name == "bmad-shop-prod"
        second_hold = second.hold_lock("shop", "prod", identity="host-b/22/ledger-bbbb/run2", lease_seconds=30)
        with pytest.raises(LockHeld) as refused, second_hold:
            pytest.fail("the second runner got the lock")
        assert refused.value.exit_code == ExitCode.GATE_FAILED
        assert "the Kubernetes target of shop/prod is being deployed by host-a/11/ledger-aaaa/run1" in str(
            refused.value
        )
        assert f"lease {NS}/bmad-shop-prod" in str(refused.value)
        assert "kubectl get lease bmad-shop-prod -n team-a" in (refused.value.hint or "")
        listed = standin.kubectl("get", "lease", "bmad-shop-prod", "-n", NS, context="ci")
        assert "host-a/11/ledger-aaaa/run1" in listed.stdout, listed.stderr
    assert "holderIdentity" not in _spec(standin, "bmad-shop-prod")  # released at the end
    with second.hold_lock("shop", "prod", identity="host-b/22/ledger-bbbb/run2", lease_seconds=30):
        assert _spec(standin, "bmad-shop-prod")["holderIdentity"] == "host-b/22/ledger-bbbb/run2"


def test_the_heartbeat_renews_the_lease_while_the_deploy_runs(standin: StandIn) -> None:
    """Guards: a deploy longer than the lease would be taken over if renewTime never moved."""
    target = make_target(standin, context="ci")
    with target.hold_lock("renewed", "prod", identity="me", lease_seconds=3):
        first = _spec(standin, "bmad-renewed-prod")["renewTime"]
        time.sleep(3.5)  # longer than the lease: only renewals keep it
        later = _spec(standin, "bmad-renewed-prod")
        assert later["renewTime"] != first and later["holderIdentity"] == "me"
        other = make_target(standin, context="ci")
        with pytest.raises(LockHeld), other.hold_lock("renewed", "prod", identity="other", lease_seconds=3):
            pass


def test_an_expired_lease_of_a_dead_holder_is_taken_over(standin: StandIn) -> None:
    """Guards: a run that died must not block the target forever."""
    stale = datetime.now(UTC) - timedelta(seconds=60)
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "bmad-dead-prod"},
        "spec": {
            "holderIdentity": "gone/1/ledger-x/run0",
            "leaseDurationSeconds": 15,
            "renewTime": micro_time(stale),
            "leaseTransitions": 2,
        },
    }
    assert standin.request("POST", LEASES, body).status == 201
    with make_target(standin, context="ci").hold_lock("dead", "prod", identity="heir", lease_seconds=15):
        spec = _spec(standin, "bmad-dead-prod")
        assert spec["holderIdentity"] == "heir" and spec["leaseTransitions"] == 3


def test_of_runners_racing_for_an_expired_lease_exactly_one_wins(standin: StandIn) -> None:
    """Guards: a takeover without the read resourceVersion would let two racers both win (409 decides)."""
    target = make_target(standin, context="ci")
    api, namespace = target.api, target.namespace
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "bmad-race-prod"},
        "spec": {"holderIdentity": "gone", "leaseDurationSeconds": 1, "renewTime": "2020-01-01T00:00:00.000000Z"},
    }
    assert standin.request("POST", LEASES, body).status == 201
    winners: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(6)

    def race(identity: str) -> None:
        lease = TargetLease(api, namespace, "bmad-race-prod", identity=identity, duration_seconds=30)
        start.wait()
        try:
            lease.acquire("the race")
            winners.append(identity)
        except LockHeld:
            refused.append(identity)

    threads = [threading.Thread(target=race, args=(f"racer-{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(winners) == 1 and len(refused) == 5, (winners, refused)
    assert _spec(standin, "bmad-race-prod")["holderIdentity"] == winners[0]


HOLD = """
import sys, time
from bmad.adapters.targets.kubernetes import KubernetesTarget
from bmad.config.deploy import KubernetesTargetConfig
from tests.adapters.targets.kubernetes.conftest import NoProbe
target = KubernetesTarget(KubernetesTargetConfig(kubeconfig=sys.argv[1], context="ci"), probe=NoProbe())
with target.hold_lock("killed", "prod", identity="doomed", lease_seconds=2):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_holder_killed_with_sigkill_blocks_until_its_lease_expires(standin: StandIn) -> None:
    """Guards: a holder killed mid-deploy (no release) must be taken over once its lease expires."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(standin.kubeconfig)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    finally:
        holder.kill()
        holder.wait(timeout=10)
    target = make_target(standin, context="ci")
    with (
        pytest.raises(LockHeld, match="being deployed by doomed"),
        target.hold_lock("killed", "prod", identity="next", lease_seconds=2),
    ):
        pass
    deadline = time.monotonic() + 10
    while True:
        try:
            with target.hold_lock("killed", "prod", identity="next", lease_seconds=2):
                break
        except LockHeld:
            assert time.monotonic() < deadline, "the dead holder's lease never expired"
            time.sleep(0.2)
    assert time.monotonic() < deadline


def test_no_lock_in_a_namespace_that_does_not_exist(standin: StandIn) -> None:
    """DEPLOY reports a missing namespace itself; with create_namespace the namespace is made for the Lease."""
    missing = make_target(standin, context="admin", namespace="not-there")
    with missing.hold_lock("x", "prod", identity="me", lease_seconds=5) as lease:
        assert lease is None
    created = make_target(standin, context="admin", namespace="made-for-lease", create_namespace=True)
    with created.hold_lock("x", "prod", identity="me", lease_seconds=5) as lease:
        assert lease is not None
        assert standin.get("/apis/coordination.k8s.io/v1/namespaces/made-for-lease/leases/bmad-x-prod")


def test_a_holder_whose_clock_lags_but_keeps_renewing_is_not_taken_over(standin: StandIn) -> None:
    """Guards issue 19: expiry was judged by the holder's renewTime against the waiter's clock, so a
    holder whose clock lagged an hour looked dead while it renewed and was taken over mid-deploy."""
    target = make_target(standin, context="ci")
    lagging = TargetLease(
        target.api,
        target.namespace,
        "bmad-skewed-prod",
        identity="lagging-clock",
        duration_seconds=2,
        clock=lambda: datetime.now(UTC) - timedelta(hours=1),
    )
    lagging.acquire("the skewed target")
    with keep_renewed(lagging):
        waiter = TargetLease(target.api, target.namespace, "bmad-skewed-prod", identity="waiter", duration_seconds=2)
        with pytest.raises(LockHeld, match="being deployed by lagging-clock"):
            waiter.acquire("the skewed target")
        assert _spec(standin, "bmad-skewed-prod")["holderIdentity"] == "lagging-clock"
        assert lagging.lost() is None
    # once it stops renewing, the waiter takes it after watching it unchanged for one duration
    dead = {**standin.get(f"{LEASES}/bmad-skewed-prod")}
    dead["spec"] = {**dead["spec"], "holderIdentity": "lagging-clock", "leaseDurationSeconds": 2}
    assert standin.request("PUT", f"{LEASES}/bmad-skewed-prod", dead).status == 200
    started = time.monotonic()
    waiter.acquire("the skewed target")
    assert time.monotonic() - started >= 2 and _spec(standin, "bmad-skewed-prod")["holderIdentity"] == "waiter"


def test_a_lease_taken_by_another_run_is_reported_lost_naming_the_new_holder(standin: StandIn) -> None:
    """Guards issue 19: the heartbeat saw the Lease taken and only stopped; nobody was told."""
    target = make_target(standin, context="ci")
    with target.hold_lock("stolen", "prod", identity="first", lease_seconds=3) as lease:
        assert lease is not None and lease.lost() is None
        taken = standin.get(f"{LEASES}/bmad-stolen-prod")
        taken["spec"] = {**taken["spec"], "holderIdentity": "thief/7/ledger-cccc/run3"}
        assert standin.request("PUT", f"{LEASES}/bmad-stolen-prod", taken).status == 200
        deadline = time.monotonic() + 10
        while lease.lost() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lease.lost() == f"the lease {NS}/bmad-stolen-prod is now held by thief/7/ledger-cccc/run3"
    assert _spec(standin, "bmad-stolen-prod")["holderIdentity"] == "thief/7/ledger-cccc/run3"  # not cleared
