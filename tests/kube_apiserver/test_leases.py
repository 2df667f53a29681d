"""coordination.k8s.io/v1 Lease on the stand-in, driven by the real kubectl (coordination.py).

Each test fails against the stand-in before it served the coordination.k8s.io group (issue 19:
the Kubernetes target lock is a Lease)."""

from __future__ import annotations

import json

from tests.kube_apiserver.harness import StandIn

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


def _lease(name: str, holder: str, duration: int = 15) -> str:
    return (
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\n"
        f"metadata:\n  name: {name}\n  namespace: default\n"
        f"spec:\n  holderIdentity: {holder}\n  leaseDurationSeconds: {duration}\n"
        "  renewTime: '2026-01-01T00:00:00.000000Z'\n"
    )


def test_kubectl_applies_and_lists_a_lease_with_its_holder(standin: StandIn) -> None:
    applied = standin.kubectl("apply", "-f", "-", stdin=_lease("lock-a", "runner-1"))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout == "lease.coordination.k8s.io/lock-a created\n"
    listed = standin.kubectl("get", "lease", "lock-a", "-n", "default")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "HOLDER", "AGE"]
    assert row.split()[:2] == ["lock-a", "runner-1"]
    again = standin.kubectl("apply", "-f", "-", stdin=_lease("lock-a", "runner-2"))
    assert again.stdout == "lease.coordination.k8s.io/lock-a configured\n", again.stderr
    spec = json.loads(standin.kubectl("get", "leases.coordination.k8s.io", "lock-a", "-o", "json").stdout)["spec"]
    assert spec["holderIdentity"] == "runner-2" and spec["leaseDurationSeconds"] == 15


def test_discovery_lists_leases_with_every_verb(standin: StandIn) -> None:
    resources = standin.kubectl("api-resources", "--api-group=coordination.k8s.io", "-o", "wide")
    assert resources.returncode == 0, resources.stderr
    row = next(line.split() for line in resources.stdout.splitlines() if line.startswith("leases"))
    assert row[:4] == ["leases", "coordination.k8s.io/v1", "true", "Lease"]
    assert "create,delete,deletecollection,get,list,patch,update,watch" in resources.stdout
    explained = standin.request("GET", "/openapi/v3/apis/coordination.k8s.io/v1")
    assert "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}" in explained.body["paths"]


def test_update_with_a_stale_resource_version_is_a_conflict(standin: StandIn) -> None:
    created = standin.request("POST", LEASES, json.loads(json.dumps(_as_object("lock-b", "one"))))
    assert created.status == 201, created.body
    first = created.body
    moved = {**first, "spec": {**first["spec"], "holderIdentity": "two"}}
    assert standin.request("PUT", f"{LEASES}/lock-b", moved).status == 200
    stale = {**first, "spec": {**first["spec"], "holderIdentity": "three"}}
    refused = standin.request("PUT", f"{LEASES}/lock-b", stale)
    assert refused.status == 409, refused.body
    assert refused.body["message"] == (
        'Operation cannot be fulfilled on leases.coordination.k8s.io "lock-b": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert standin.get(f"{LEASES}/lock-b")["spec"]["holderIdentity"] == "two"
    twice = standin.request("POST", LEASES, _as_object("lock-b", "four"))
    assert twice.status == 409 and twice.body["reason"] == "AlreadyExists"


def test_a_lease_without_a_positive_duration_is_invalid(standin: StandIn) -> None:
    refused = standin.kubectl("apply", "-f", "-", stdin=_lease("lock-c", "runner", duration=0))
    assert refused.returncode == 1
    assert (
        'The Lease "lock-c" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'
        in refused.stderr
    )


def _as_object(name: str, holder: str) -> dict[str, object]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15},
    }
