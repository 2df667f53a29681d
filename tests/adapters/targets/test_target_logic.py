"""Pure logic of the targets: role derivation (local), kubectl's rollout semantics, bundle order,
secret references, and cluster selection as kubectl does it (kubeconfig, context, namespace)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.adapters.targets.kubernetes import (
    KubernetesTarget,
    connect,
    pod_problem,
    rollout_status,
    secret_references,
    selector_string,
    sort_bundle,
)
from bmad.adapters.targets.local import Generation, Replica, assign_roles
from bmad.config.deploy import KubernetesTargetConfig
from bmad.core.errors import AdapterError, Unreachable


def gen(number: int, *statuses: str) -> Generation:
    g = Generation(number=number, slot=number % 2, release=f"v{number}", digest="", image="", config="")
    for i, status in enumerate(statuses):
        g.replicas.append(
            Replica(
                f"id{number}{i}",
                f"c{number}{i}",
                number,
                number % 2,
                i,
                f"v{number}",
                "",
                "",
                status,
                0,
                None,
                None,
                18000 + i,
            )
        )
    return g


@pytest.mark.parametrize(
    ("generations", "roles"),
    [
        ([gen(1, "running", "running")], {1: "active"}),
        # update in progress: the old one still serves, the new one is a candidate
        ([gen(1, "running"), gen(2, "running")], {1: "active", 2: "candidate"}),
        # cut over: old stopped and kept
        ([gen(1, "exited"), gen(2, "running")], {1: "previous", 2: "active"}),
        # the previous-but-one is stale
        ([gen(1, "exited"), gen(2, "exited"), gen(3, "running")], {1: "stale", 2: "previous", 3: "active"}),
        # crash between stop and start: the newest stopped generation is what to bring back
        ([gen(1, "exited"), gen(2, "exited")], {1: "stale", 2: "previous"}),
        # a failed candidate left stopped after a rollback started the old one again
        ([gen(1, "running"), gen(2, "exited")], {1: "active", 2: "stale"}),
    ],
)
def test_roles_are_derived_from_labels_and_running_state(generations: list[Generation], roles: dict[int, str]) -> None:
    state = assign_roles(generations)
    assert {g.number: g.role for g in state.generations} == roles


@pytest.mark.parametrize(
    ("generations", "diagnosed"),
    [
        # a crash-looping candidate caught between two restarts: down, yet the update to diagnose
        ([gen(1, "running"), gen(2, "exited")], [1, 2]),
        ([gen(1, "exited"), gen(2, "running"), gen(3, "running")], [2, 3]),
        # the rollback point is not what is failing
        ([gen(1, "exited"), gen(2, "running")], [2]),
        # nothing serves: the newest generation
        ([gen(1, "exited"), gen(2, "exited")], [2]),
        ([], []),
    ],
)
def test_diagnosis_covers_the_serving_generation_and_every_newer_one(
    generations: list[Generation], diagnosed: list[int]
) -> None:
    state = assign_roles(generations)
    assert [g.number for g in state.under_diagnosis()] == diagnosed


def deployment(generation: int = 2, observed: int = 2, desired: int = 3, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "hello", "generation": generation},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    ("dep", "expected"),
    [
        (deployment(observed=1), (False, False, "Waiting for deployment spec update to be observed...")),
        (deployment(updatedReplicas=1, replicas=3), (False, False, "1 out of 3 new replicas have been updated")),
        (deployment(updatedReplicas=3, replicas=4), (False, False, "1 old replicas are pending termination")),
        (
            deployment(updatedReplicas=3, replicas=3, availableReplicas=2),
            (False, False, "2 of 3 updated replicas are available"),
        ),
        (deployment(updatedReplicas=3, replicas=3, availableReplicas=3), (True, False, "successfully rolled out")),
        (
            deployment(
                updatedReplicas=1,
                conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
            ),
            (False, True, "exceeded its progress deadline"),
        ),
    ],
)
def test_rollout_status_reads_a_deployment_like_kubectl(dep: dict[str, Any], expected: tuple[bool, bool, str]) -> None:
    done, failed, message = rollout_status(dep)
    assert (done, failed) == expected[:2]
    assert expected[2] in message


def test_bundle_order_follows_the_guide() -> None:
    kinds = [
        "HorizontalPodAutoscaler",
        "Deployment",
        "PodDisruptionBudget",
        "Service",
        "Secret",
        "Namespace",
        "NetworkPolicy",
        "ConfigMap",
        "Ingress",
    ]
    ordered = [o["kind"] for o in sort_bundle([{"kind": k} for k in kinds])]
    assert ordered == [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "NetworkPolicy",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]


def test_secret_references_skip_optional_ones() -> None:
    pod = {
        "containers": [
            {
                "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "opt", "key": "k", "optional": True}}},
                    {"name": "C", "value": "plain"},
                ],
                "envFrom": [{"secretRef": {"name": "all"}}],
            }
        ],
        "volumes": [{"name": "tls", "secret": {"secretName": "tls", "items": [{"key": "tls.crt", "path": "c"}]}}],
        "imagePullSecrets": [{"name": "regcred"}],
    }
    assert secret_references(pod) == [("db", "password"), ("all", None), ("tls", "tls.crt"), ("regcred", None)]


def test_selector_and_pod_problems() -> None:
    assert selector_string(
        {
            "matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "t", "operator": "In", "values": ["x", "y"]}],
        }
    ) == ("a=1,b=2,t in (x,y)")
    crash = {"status": {"containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    assert pod_problem(crash) == ("CrashLoopBackOff", "")
    assert pod_problem({"status": {"phase": "Running", "containerStatuses": [{"state": {"running": {}}}]}}) is None
    between_crashes = {
        "restartCount": 2,
        "ready": False,
        "state": {"running": {}},
        "lastState": {"terminated": {"exitCode": 1}},
    }
    assert pod_problem({"status": {"phase": "Running", "containerStatuses": [between_crashes]}}) == (
        "CrashLoopBackOff",
        "restarted 2 time(s), last exit code 1",
    )
    healed = {**between_crashes, "ready": True}
    assert pod_problem({"status": {"phase": "Running", "containerStatuses": [healed]}}) is None


def write_kubeconfig(path: Path, contexts: dict[str, str | None], current: str, server: str) -> Path:
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t0ken-value"}}],
        "contexts": [
            {"name": name, "context": {"cluster": "c", "user": "u", **({"namespace": ns} if ns else {})}}
            for name, ns in contexts.items()
        ],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_cluster_chosen_as_kubectl_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(Unreachable, match="no kubeconfig"):
        connect(KubernetesTargetConfig())

    first = write_kubeconfig(tmp_path / "a", {"dev": "team-a", "prod": None}, "dev", "http://127.0.0.1:1")
    monkeypatch.setenv("KUBECONFIG", str(first))
    _client, namespace, where = connect(KubernetesTargetConfig())
    assert namespace == "team-a" and "context dev" in where  # current-context and its namespace
    _client, namespace, _where = connect(KubernetesTargetConfig(context="prod"))
    assert namespace == "default"  # a context without a namespace
    _client, namespace, _where = connect(KubernetesTargetConfig(context="prod", namespace="hello"))
    assert namespace == "hello"  # bmad.yaml wins
    with pytest.raises(Unreachable, match="not found"):
        connect(KubernetesTargetConfig(context="nope"))

    # KUBECONFIG is a path list, merged like kubectl does; the explicit file in bmad.yaml wins over it.
    second = write_kubeconfig(tmp_path / "b", {"staging": "stage-ns"}, "staging", "http://127.0.0.1:2")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{first}:{second}")
    _client, namespace, _where = connect(KubernetesTargetConfig(context="staging"))
    assert namespace == "stage-ns"
    client, namespace, _where = connect(KubernetesTargetConfig(kubeconfig="b"), base_dir=str(tmp_path))
    assert namespace == "stage-ns" and client.host == "http://127.0.0.1:2"


def test_unreachable_api_server_is_an_adapter_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import free_port

    path = write_kubeconfig(tmp_path / "k", {"x": "ns"}, "x", f"http://127.0.0.1:{free_port()}")
    from bmad.ports.target import ProbeResponse

    class NoProbe:
        def get(self, url: str, *, timeout: float) -> ProbeResponse:
            return ProbeResponse(url, 0, "", 0.0)

    target = KubernetesTarget(KubernetesTargetConfig(kubeconfig=str(path), request_timeout_seconds=2), probe=NoProbe())
    with pytest.raises(AdapterError) as err:
        target.snapshot("hello", "x")
    assert isinstance(err.value, Unreachable)
    assert "t0ken-value" not in str(err.value)


LABELS = {"bmad.generation": "3", "bmad.slot": "1", "bmad.replica": "0", "bmad.release": "abc", "bmad.config": "h"}


def test_replica_from_a_list_summary_and_from_an_inspect() -> None:
    from bmad.adapters.targets.local import replica_from_attrs

    summary = {
        "Id": "f00",
        "Names": ["/hello-dev-g3-0"],
        "Labels": LABELS,
        "State": "exited",
        "Status": "Exited (3) 2 seconds ago",
        "Ports": [{"PrivatePort": 8080, "PublicPort": 18082, "IP": "127.0.0.1"}],
    }
    replica = replica_from_attrs(summary)
    assert replica is not None
    assert (replica.name, replica.generation, replica.slot, replica.exit_code, replica.host_port) == (
        "hello-dev-g3-0",
        3,
        1,
        3,
        18082,
    )
    assert replica.crashed and not replica.running and replica.config == "h"
    inspect = {
        "Id": "f00",
        "Name": "/hello-dev-g3-0",
        "Config": {"Labels": LABELS},
        "RestartCount": 2,
        "State": {"Status": "running", "ExitCode": 0, "Health": {"Status": "unhealthy"}},
        "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18082"}]}},
    }
    replica = replica_from_attrs(inspect)
    assert replica is not None
    assert (replica.restarts, replica.health, replica.host_port, replica.running) == (2, "unhealthy", 18082, True)
    assert replica.crashed  # restarted: a crash loop
    assert replica_from_attrs({"Labels": {"other": "x"}, "State": "running"}) is None  # not bmad's
