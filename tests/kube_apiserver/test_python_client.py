# mypy: disable-error-code="no-untyped-call"
"""The official Python client (the ``kubernetes`` package bmad depends on) against the stand-in:
kubeconfig with the CA inline, typed and dynamic clients, server-side apply, watch, 403."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch

from tests.kube_apiserver.harness import StandIn

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "py-client", "namespace": "team-a"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "py-client"}},
        "template": {
            "metadata": {"labels": {"app": "py-client"}},
            "spec": {"containers": [{"name": "a", "image": "x:1"}]},
        },
    },
}


def test_python_client_applies_watches_and_is_refused_as_on_a_cluster(standin: StandIn) -> None:
    api = config.new_client_from_config(str(standin.kubeconfig), context="ci")
    deployments = dynamic.DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
    applied = deployments.server_side_apply(body=DEPLOYMENT, field_manager="bmad", namespace="team-a")
    assert [m.manager for m in applied.metadata.managedFields] == ["bmad"]
    stream = watch.Watch()
    ready = None
    for event in stream.stream(client.AppsV1Api(api).list_namespaced_deployment, "team-a", timeout_seconds=10):
        if event["object"].metadata.name == "py-client" and event["object"].status.ready_replicas == 1:
            ready = event["type"]
            stream.stop()
    assert ready in ("ADDED", "MODIFIED")
    with pytest.raises(client.ApiException) as refused:
        client.CoreV1Api(api).patch_namespace("team-a", {"metadata": {"labels": {"a": "b"}}})
    assert refused.value.status == 403


def test_bmads_own_client_applies_and_reports_the_servers_403(standin: StandIn) -> None:
    from bmad.adapters.targets.kubernetes.kubeconfig import connect
    from bmad.config.deploy import KubernetesTargetConfig
    from bmad.core.errors import AdapterError

    api, _, _ = connect(KubernetesTargetConfig(kubeconfig=str(standin.kubeconfig), context="ci"))
    applied = api.apply({**DEPLOYMENT, "metadata": {"name": "bmad-client", "namespace": "team-a"}})
    assert [m["manager"] for m in applied["metadata"]["managedFields"]] == ["bmad"]
    with pytest.raises(AdapterError) as refused:
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}})
    assert 'cannot patch resource "namespaces" in API group "" at the cluster scope' in str(refused.value)
