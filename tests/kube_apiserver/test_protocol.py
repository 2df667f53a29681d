"""Storage and protocol, as the real kubectl and a raw HTTPS client see them."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
import yaml

from tests.kube_apiserver.harness import StandIn

CONFIGMAP_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {mode: fast}
"""


def test_kubeconfig_has_four_contexts_and_the_ca_inline(standin: StandIn) -> None:
    config = yaml.safe_load(standin.kubeconfig.read_text())
    assert [c["name"] for c in config["contexts"]] == ["admin", "ci", "readonly", "deployer"]
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    assert config["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{standin.port}"
    assert standin.kubectl("get", "namespace", "team-a", "-o", "name").stdout == "namespace/team-a\n"


def test_https_only_with_its_own_ca(standin: StandIn) -> None:
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"https://127.0.0.1:{standin.port}/version", context=ssl.create_default_context())
    assert standin.request("GET", "/version").body["gitVersion"].startswith("v1.")


def test_a_request_without_a_token_is_unauthorized(standin: StandIn) -> None:
    tls = ssl.create_default_context(cafile=str(standin.directory / "ca.crt"))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"https://127.0.0.1:{standin.port}/api/v1/namespaces", context=tls)
    assert caught.value.code == 401


def test_discovery_lists_short_names_and_scopes(standin: StandIn) -> None:
    out = standin.kubectl("api-resources", "--api-group=apps", "-o", "wide").stdout
    assert "deployments" in out and "deploy" in out and "statefulsets" in out and "sts" in out
    assert standin.kubectl("api-resources", "--namespaced=false", "-o", "name").stdout.count("namespaces") == 1
    groups = {g["name"] for g in standin.request("GET", "/apis").body["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "policy", "autoscaling", "rbac.authorization.k8s.io"} <= groups
    assert "apiextensions.k8s.io" in groups


def test_yaml_and_json_bodies_and_resource_versions(standin: StandIn) -> None:
    created = standin.request(
        "POST", "/api/v1/namespaces/default/configmaps", CONFIGMAP_YAML.encode(), content_type="application/yaml"
    )
    assert created.status == 201
    first = int(created.body["metadata"]["resourceVersion"])
    patched = standin.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/settings",
        {"data": {"mode": "slow"}},
        content_type="application/merge-patch+json",
    )
    assert int(patched.body["metadata"]["resourceVersion"]) > first
    listed = standin.request("GET", "/api/v1/namespaces/default/configmaps")
    assert int(listed.body["metadata"]["resourceVersion"]) >= int(patched.body["metadata"]["resourceVersion"])
    assert standin.kubectl("get", "cm", "settings", "-o", "jsonpath={.data.mode}").stdout == "slow"


def test_already_exists_and_not_found_as_kubectl_prints_them(standin: StandIn) -> None:
    standin.kubectl("create", "configmap", "twice", "-n", "default")
    again = standin.kubectl("create", "configmap", "twice", "-n", "default")
    assert again.returncode == 1
    assert again.stderr.strip() == 'error: failed to create configmap: configmaps "twice" already exists'
    missing = standin.kubectl("get", "deploy", "nothing", "-n", "default")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "nothing" not found'


def test_stale_resource_version_on_update_is_a_conflict(standin: StandIn) -> None:
    standin.kubectl("create", "configmap", "versioned", "-n", "default")
    current = standin.request("GET", "/api/v1/namespaces/default/configmaps/versioned").body
    stale = json.loads(json.dumps(current))
    stale["metadata"]["resourceVersion"] = "1"
    answer = standin.request("PUT", "/api/v1/namespaces/default/configmaps/versioned", stale)
    assert answer.status == 409
    assert answer.body["reason"] == "Conflict"
    assert answer.body["message"] == (
        'Operation cannot be fulfilled on configmaps "versioned": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_typed_creates_in_protobuf_are_decoded(standin: StandIn) -> None:
    # kubectl's typed clients send these bodies as application/vnd.kubernetes.protobuf
    created = standin.kubectl("create", "deployment", "pb-made", "--image=pb:1", "--port=8080", "--replicas=2")
    assert created.stdout == "deployment.apps/pb-made created\n", created.stderr
    container = json.loads(
        standin.kubectl("get", "deploy", "pb-made", "-o", "jsonpath={.spec.template.spec.containers[0]}").stdout
    )
    assert (container["name"], container["image"], container["ports"][0]["containerPort"]) == ("pb", "pb:1", 8080)
    assert (
        standin.kubectl("create", "role", "pb-role", "--verb=get", "--resource=pods,deployments.apps").returncode == 0
    )
    rules = json.loads(standin.kubectl("get", "role", "pb-role", "-o", "jsonpath={.rules}").stdout)
    assert [r["apiGroups"] for r in rules] == [[""], ["apps"]]
    exposed = standin.kubectl("expose", "deploy", "pb-made", "--port=80", "--target-port=8080")
    assert exposed.stdout == "service/pb-made exposed\n", exposed.stderr
    ports = json.loads(standin.kubectl("get", "svc", "pb-made", "-o", "jsonpath={.spec.ports[0]}").stdout)
    assert (ports["port"], ports["targetPort"], ports["protocol"]) == (80, 8080, "TCP")


def test_aggregated_discovery_when_asked_for(standin: StandIn) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    tls = ssl.create_default_context(cafile=str(standin.directory / "ca.crt"))
    request = urllib.request.Request(f"https://127.0.0.1:{standin.port}/apis")
    request.add_header("Authorization", f"Bearer {standin.token()}")
    request.add_header("Accept", accept)
    with urllib.request.urlopen(request, context=tls) as answer:
        assert answer.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        body = json.loads(answer.read())
    apps = next(g for g in body["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced" and deployments["shortNames"] == ["deploy"]
    assert {s["subresource"] for s in deployments["subresources"]} == {"status", "scale"}


def test_a_terminating_namespace_refuses_new_content_until_finalizers_are_gone(standin: StandIn) -> None:
    standin.kubectl("create", "namespace", "held")
    held = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "hold", "namespace": "held", "finalizers": ["example.com/hold"]},
    }
    assert standin.kubectl("apply", "-f", "-", stdin=json.dumps(held)).returncode == 0
    assert standin.kubectl("delete", "namespace", "held", "--wait=false").returncode == 0
    assert standin.wait_for(
        lambda: standin.get("/api/v1/namespaces/held").get("status", {}).get("phase") == "Terminating"
    )
    refused = standin.kubectl("create", "configmap", "more", "-n", "held")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'error: failed to create configmap: configmaps "more" is forbidden: '
        "unable to create new content in namespace held because it is being terminated"
    )
    remove = '[{"op":"remove","path":"/metadata/finalizers"}]'
    assert standin.kubectl("patch", "configmap", "hold", "-n", "held", "--type=json", "-p", remove).returncode == 0
    assert standin.wait_for(lambda: standin.get("/api/v1/namespaces/held") == {})
