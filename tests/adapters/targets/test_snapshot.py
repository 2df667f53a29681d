"""Target.snapshot's dataclass: a record read back writes the same JSON, key order included."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bmad.ports.target import TargetSnapshot

LOCAL_RUNNING = {
    "kind": "local",
    "exists": True,
    "service": "hello",
    "environment": "dev",
    "generation": 3,
    "release": "a" * 40,
    "image": "127.0.0.1:5000/hello",
    "digest": "sha256:" + "1" * 64,
    "replicas": 2,
    "containers": ["hello-dev-g3-0", "hello-dev-g3-1"],
}
KUBERNETES_RUNNING = {
    "kind": "kubernetes",
    "service": "hello",
    "environment": "stg",
    "namespace": "hello",
    "deployment": "hello",
    "exists": True,
    "revision": "4",
    "release": None,
    "replicas": 3,
    "images": ["127.0.0.1:5000/hello@sha256:" + "2" * 64],
    "template": {"metadata": {"labels": {"app": "hello"}}, "spec": {"containers": [{"name": "hello"}]}},
}
RECORDS = [
    LOCAL_RUNNING,
    {"kind": "local", "exists": False, "service": "hello", "environment": "dev"},
    KUBERNETES_RUNNING,
    {
        "kind": "kubernetes",
        "service": "hello",
        "environment": "stg",
        "namespace": "hello",
        "deployment": "hello",
        "exists": False,
    },
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"{r['kind']}-{'running' if r['exists'] else 'none'}")
def test_a_record_round_trips_to_the_same_json(record: dict[str, Any]) -> None:
    snapshot = TargetSnapshot.from_dict(record)
    assert json.dumps(snapshot.to_dict()) == json.dumps(record)


def test_fields_are_typed_and_the_record_is_a_copy() -> None:
    snapshot = TargetSnapshot.from_dict(KUBERNETES_RUNNING)
    assert snapshot.exists and snapshot.revision == "4" and snapshot.images == tuple(KUBERNETES_RUNNING["images"])
    record = snapshot.to_dict()
    record["template"]["metadata"]["labels"]["app"] = "changed"
    assert snapshot.to_dict()["template"]["metadata"]["labels"]["app"] == "hello"
    local = TargetSnapshot.from_dict(LOCAL_RUNNING)
    assert (local.generation, local.replicas, local.containers[0]) == (3, 2, "hello-dev-g3-0")
