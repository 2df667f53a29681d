"""Authorization: three identities, the real server's 403 wording, access reviews for ``auth can-i``."""

from __future__ import annotations

import pytest

from tests.kube_apiserver.harness import StandIn


@pytest.mark.parametrize(
    ("context", "args", "answer"),
    [
        ("admin", ("create", "deployments", "-n", "team-b"), "yes"),
        ("admin", ("patch", "namespaces", "--all-namespaces"), "yes"),
        ("ci", ("create", "deployments", "-n", "team-a"), "yes"),
        ("ci", ("create", "deployments", "-n", "default"), "no"),
        ("ci", ("patch", "namespaces", "--all-namespaces"), "no"),
        ("readonly", ("list", "pods", "-n", "default"), "yes"),
        ("readonly", ("create", "configmaps", "-n", "default"), "no"),
    ],
)
def test_auth_can_i_for_each_identity(standin: StandIn, context: str, args: tuple[str, ...], answer: str) -> None:
    result = standin.kubectl("auth", "can-i", *args, context=context)
    # kubectl auth can-i prints yes/no and exits 0 for yes, 1 for no (kubectl/pkg/cmd/auth/cani.go)
    assert result.stdout.strip() == answer
    assert result.returncode == (0 if answer == "yes" else 1)


def test_auth_can_i_list_shows_the_rules_of_the_namespace(standin: StandIn) -> None:
    listed = standin.kubectl("auth", "can-i", "--list", "-n", "team-a", context="ci")
    assert listed.returncode == 0
    assert "*.*" in listed.stdout and "[*]" in listed.stdout
    elsewhere = standin.kubectl("auth", "can-i", "--list", "-n", "default", context="ci").stdout
    assert "*.*" not in elsewhere


def test_whoami_names_the_service_account(standin: StandIn) -> None:
    result = standin.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", context="ci")
    assert result.stdout == "system:serviceaccount:team-a:ci"


def test_forbidden_patch_is_worded_as_the_real_server(standin: StandIn) -> None:
    answer = standin.request(
        "PATCH",
        "/api/v1/namespaces/team-a",
        {"metadata": {"labels": {"x": "y"}}},
        context="ci",
        content_type="application/merge-patch+json",
    )
    assert answer.status == 403
    assert answer.body["reason"] == "Forbidden"
    assert answer.body["message"] == (
        'namespaces "team-a" is forbidden: User "system:serviceaccount:team-a:ci" cannot patch resource '
        '"namespaces" in API group "" at the cluster scope'
    )
    assert answer.body["details"] == {"name": "team-a", "kind": "namespaces"}


def test_ci_works_in_its_namespace_only(standin: StandIn) -> None:
    created = standin.kubectl("create", "configmap", "ci-made", "-n", "team-a", context="ci")
    assert created.returncode == 0, created.stderr
    refused = standin.kubectl("get", "pods", "-n", "kube-system", context="ci")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:team-a:ci" cannot list '
        'resource "pods" in API group "" in the namespace "kube-system"'
    )


def test_readonly_cannot_write(standin: StandIn) -> None:
    refused = standin.kubectl("create", "configmap", "nope", "-n", "default", context="readonly")
    assert refused.returncode == 1
    assert 'cannot create resource "configmaps" in API group "" in the namespace "default"' in refused.stderr
