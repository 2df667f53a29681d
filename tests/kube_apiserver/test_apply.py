"""Server-side apply, dry-run and the other patch types, driven by the real kubectl."""

from __future__ import annotations

import json

from tests.kube_apiserver.harness import StandIn
from tests.kube_apiserver.manifests import deployment

# kubectl's own text after a server-side apply conflict (kubectl/pkg/cmd/apply/apply.go)
KUBECTL_CONFLICT_HINT = "Please review the fields above--they currently have other managers."


def _managers(standin: StandIn, name: str, namespace: str = "default") -> dict[str, dict[str, object]]:
    out = standin.kubectl("get", "deploy", name, "-n", namespace, "-o", "json", "--show-managed-fields").stdout
    return {m["manager"]: m for m in json.loads(out)["metadata"]["managedFields"]}


def test_apply_creates_and_records_field_sets(standin: StandIn) -> None:
    applied = standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-create"))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout == "deployment.apps/ssa-create serverside-applied\n"
    entry = _managers(standin, "ssa-create")["kubectl"]
    assert entry["operation"] == "Apply" and entry["fieldsType"] == "FieldsV1"
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]  # type: ignore[index]
    assert containers['k:{"name":"app"}']["f:env"]['k:{"name":"MODE"}'] == {".": {}, "f:name": {}, "f:value": {}}


def test_conflict_lists_the_manager_and_force_takes_ownership(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-conflict", replicas=2))
    other = deployment("ssa-conflict", replicas=5)
    refused = standin.kubectl("apply", "--server-side", "--field-manager=ci-bot", "-f", "-", stdin=other)
    assert refused.returncode == 1
    assert 'error: Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in refused.stderr
    assert KUBECTL_CONFLICT_HINT in refused.stderr and "--force-conflicts" in refused.stderr
    forced = standin.kubectl(
        "apply", "--server-side", "--field-manager=ci-bot", "--force-conflicts", "-f", "-", stdin=other
    )
    assert forced.returncode == 0, forced.stderr
    managers = _managers(standin, "ssa-conflict")
    assert "f:replicas" in managers["ci-bot"]["fieldsV1"]["f:spec"]  # type: ignore[index]
    assert "f:replicas" not in managers["kubectl"]["fieldsV1"]["f:spec"]  # type: ignore[index]


def test_conflict_status_names_each_field_and_manager(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-causes", replicas=2))
    body = deployment("ssa-causes", replicas=4, image="hello:2").encode()
    answer = standin.request(
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/ssa-causes?fieldManager=other",
        body,
        content_type="application/apply-patch+yaml",
    )
    assert answer.status == 409
    causes = {(c["field"], c["message"], c["reason"]) for c in answer.body["details"]["causes"]}
    assert causes == {
        (".spec.replicas", 'conflict with "kubectl"', "FieldManagerConflict"),
        ('.spec.template.spec.containers[name="app"].image', 'conflict with "kubectl"', "FieldManagerConflict"),
    }
    assert answer.body["message"].startswith('Apply failed with 2 conflicts: conflicts with "kubectl":\n- ')


def test_a_field_dropped_by_its_only_manager_is_removed(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-drop", extra_label=True))
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-drop", extra_label=False))
    labels = standin.kubectl("get", "deploy", "ssa-drop", "-o", "jsonpath={.metadata.labels}").stdout
    assert json.loads(labels) == {"app": "ssa-drop"}


def test_server_dry_run_stores_nothing(standin: StandIn) -> None:
    dry = standin.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=deployment("ssa-dry"))
    assert dry.stdout == "deployment.apps/ssa-dry serverside-applied (server dry run)\n"
    created = standin.kubectl("create", "--dry-run=server", "-f", "-", stdin=deployment("ssa-dry"))
    assert created.stdout == "deployment.apps/ssa-dry created (server dry run)\n"
    missing = standin.kubectl("get", "deploy", "ssa-dry")
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_dry_run_into_a_missing_namespace_is_not_found(standin: StandIn) -> None:
    result = standin.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=deployment("x", "nowhere"))
    assert result.returncode == 1
    assert result.stderr.strip() == 'Error from server (NotFound): namespaces "nowhere" not found'


def test_dry_run_patch_and_delete_change_nothing(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-keep"))
    patched = standin.kubectl("patch", "deploy", "ssa-keep", "--dry-run=server", "-p", '{"spec":{"replicas":7}}')
    assert patched.returncode == 0 and patched.stdout == "deployment.apps/ssa-keep patched\n"
    deleted = standin.kubectl("delete", "deploy", "ssa-keep", "--dry-run=server")
    assert deleted.stdout == 'deployment.apps "ssa-keep" deleted from default namespace (server dry run)\n'
    assert standin.kubectl("get", "deploy", "ssa-keep", "-o", "jsonpath={.spec.replicas}").stdout == "2"


def test_diff_server_side_shows_the_change_and_exits_1(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("ssa-diff"))
    assert standin.kubectl("rollout", "status", "deploy/ssa-diff", "--timeout=30s").returncode == 0
    same = standin.kubectl("diff", "--server-side", "-f", "-", stdin=deployment("ssa-diff"))
    assert same.returncode == 0 and same.stdout == ""
    changed = standin.kubectl("diff", "--server-side", "-f", "-", stdin=deployment("ssa-diff", image="hello:2"))
    assert changed.returncode == 1
    assert "-        image: hello:1\n" in changed.stdout and "+        image: hello:2\n" in changed.stdout


def test_strategic_merge_patch_merges_containers_env_and_ports_by_key(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("smp"))
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "env": [{"name": "EXTRA", "value": "1"}], "ports": [{"containerPort": 9090}]},
                        {"name": "sidecar", "image": "proxy:1"},
                    ]
                }
            }
        }
    }
    assert standin.kubectl("patch", "deploy", "smp", "-p", json.dumps(patch)).returncode == 0
    spec = json.loads(standin.kubectl("get", "deploy", "smp", "-o", "json").stdout)["spec"]["template"]["spec"]
    app = spec["containers"][0]
    assert [c["name"] for c in spec["containers"]] == ["app", "sidecar"]
    assert [e["name"] for e in app["env"]] == ["MODE", "EXTRA"]
    assert [p["containerPort"] for p in app["ports"]] == [8080, 9090]


def test_merge_and_json_patch(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("patches"))
    merge = standin.kubectl("patch", "deploy", "patches", "--type=merge", "-p", '{"metadata":{"labels":{"tier":null}}}')
    assert merge.returncode == 0
    ops = '[{"op":"replace","path":"/spec/replicas","value":4}]'
    assert standin.kubectl("patch", "deploy", "patches", "--type=json", "-p", ops).returncode == 0
    obj = json.loads(standin.kubectl("get", "deploy", "patches", "-o", "json").stdout)
    assert obj["metadata"]["labels"] == {"app": "patches"} and obj["spec"]["replicas"] == 4
    assert obj["metadata"]["generation"] == 2


def test_invalid_objects_are_422_with_causes(standin: StandIn) -> None:
    bad = deployment("bad").replace("image: hello:1", 'image: ""').replace("replicas: 2", "replicas: -1")
    result = standin.kubectl("apply", "--server-side", "-f", "-", stdin=bad)
    assert result.returncode == 1
    assert 'The Deployment "bad" is invalid: \n' in result.stderr
    assert "* spec.replicas: Invalid value: -1: must be greater than or equal to 0" in result.stderr
    assert "* spec.template.spec.containers[0].image: Required value" in result.stderr


def test_client_side_apply_then_server_side_apply_upgrades_the_manager(standin: StandIn) -> None:
    first = standin.kubectl("apply", "-f", "-", stdin=deployment("csa"))
    assert first.stdout == "deployment.apps/csa created\n", first.stderr
    assert ("kubectl-client-side-apply", "Update") in {
        (m, e["operation"]) for m, e in _managers(standin, "csa").items()
    }
    second = standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("csa", replicas=3))
    assert second.stdout == "deployment.apps/csa serverside-applied\n", second.stderr
    managers = _managers(standin, "csa")
    # kubectl moves the client-side manager's fields to its server-side one (kubectl/pkg/util/csaupgrade)
    assert "kubectl-client-side-apply" not in managers
    assert managers["kubectl"]["operation"] == "Apply"
    assert standin.kubectl("get", "deploy", "csa", "-o", "jsonpath={.spec.replicas}").stdout == "3"


def test_managed_fields_can_be_cleared(standin: StandIn) -> None:
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("cleared"))
    patch = '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]'
    assert standin.kubectl("patch", "deploy", "cleared", "--type=json", "-p", patch).returncode == 0
    out = standin.kubectl("get", "deploy", "cleared", "-o", "jsonpath={.metadata.managedFields[*].manager}")
    assert "kubectl" not in out.stdout.split()


def test_unknown_fields_follow_field_validation(standin: StandIn) -> None:
    typo = deployment("typo").replace("  minReadySeconds", "  minReadySecond: 3\n  minReadySeconds")
    applied = standin.kubectl("apply", "--server-side", "-f", "-", stdin=typo)
    assert applied.returncode == 1
    assert applied.stderr.strip() == (
        "Error from server (BadRequest): failed to create typed patch object (default/typo; apps/v1, Kind=Deployment): "
        ".spec.minReadySecond: field not declared in schema"
    )
    created = standin.kubectl("create", "-f", "-", stdin=typo)
    assert created.returncode == 1
    assert created.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled '
        'as a Deployment: strict decoding error: unknown field "spec.minReadySecond"'
    )
    warned = standin.kubectl("create", "--validate=warn", "-f", "-", stdin=typo)
    assert warned.returncode == 0
    assert warned.stderr.strip() == 'Warning: unknown field "spec.minReadySecond"'
