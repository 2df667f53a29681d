"""A kubeconfig kubectl refuses is one ConfigError (file, line, field), checked against the real kubectl.

Before, the ``kubernetes`` package's loader raised TypeError/AttributeError on these files and
PyYAML's own errors on a file that is not YAML (an internal error of bmad); 282 of 1,500 mutated
kubeconfigs ended so (one part of a valid kubeconfig replaced or removed at a time)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from bmad.adapters.targets.kubernetes import locate_cluster
from bmad.adapters.targets.kubernetes.kubeconfig_shape import check_kubeconfig_file
from bmad.config.deploy import KubernetesTargetConfig
from bmad.core.errors import ConfigError
from tests.core.test_yaml_limits import alias_bomb
from tests.kube_apiserver.harness import KUBECTL

TOKEN = "kc-token-0123456789abcdef"


def _kubeconfig(**changes: object) -> dict[str, object]:
    config: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}}],
        "current-context": "ctx",
    }
    config.update(changes)
    return config


def _kubectl_refuses(path: Path) -> str:
    """kubectl's own verdict on the file: its error text, or "" when it reads it."""
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(path), "config", "get-contexts"], capture_output=True, text=True, timeout=30
    )
    return done.stderr.strip() if done.returncode else ""


REFUSED = {
    "server is a flag": (
        _kubeconfig(clusters=[{"name": "c", "cluster": {"server": True}}]),
        "clusters[0].cluster.server",
        "expected a text, found true/false",
    ),
    "user is a number": (
        _kubeconfig(users=[{"name": "u", "user": 5}]),
        "users[0].user",
        "expected a mapping, found a number",
    ),
    "clusters is a number": (_kubeconfig(clusters=5), "clusters", "expected a list, found a number"),
    "skip-verify is a text": (
        _kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://x", "insecure-skip-tls-verify": "true"}}]),
        "clusters[0].cluster.insecure-skip-tls-verify",
        "expected true or false, found a text",
    ),
    "a context is a number": (_kubeconfig(contexts=[1]), "contexts[0]", "expected a mapping, found a number"),
    "current-context is a number": (_kubeconfig(**{"current-context": 5}), "current-context", "found a number"),
    "exec args are not a list": (
        _kubeconfig(users=[{"name": "u", "user": {"exec": {"command": "aws", "args": "eks get-token"}}}]),
        "users[0].user.exec.args",
        "expected a list, found a text",
    ),
    "the file is a list": ([_kubeconfig()], "(the file)", "expected a mapping, found a list"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_kubeconfig_kubectl_refuses_is_one_config_error(tmp_path: Path, case: str) -> None:
    data, field, reason = REFUSED[case]
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert _kubectl_refuses(path).startswith(f'error: error loading config file "{path}"')
    with pytest.raises(ConfigError) as refused:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(path)))
    error = refused.value
    assert (error.file, error.field) == (str(path), field) and reason in error.reason
    assert error.line is not None and error.column is not None
    assert TOKEN not in str(error) + str(error.hint)


ACCEPTED = {
    "a context without a name": _kubeconfig(contexts=[{"context": {"cluster": "c", "user": "u"}}]),
    "null where a mapping goes": _kubeconfig(users=[{"name": "u", "user": None}]),
    "a field kubectl does not know": _kubeconfig(clusters=[{"name": "c", "cluster": {"server": "https://x", "x": 1}}]),
    "an empty file": None,
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_what_kubectl_reads_passes_the_check(tmp_path: Path, case: str) -> None:
    path = tmp_path / "kubeconfig"
    data = ACCEPTED[case]
    path.write_text("" if data is None else yaml.safe_dump(data, sort_keys=False))
    assert _kubectl_refuses(path) == ""
    check_kubeconfig_file(str(path))


def test_yaml_errors_name_the_line_never_the_secret(tmp_path: Path) -> None:
    """An unquoted password that starts with '*' is read as an alias: PyYAML's pure-Python parser names
    the alias (the password) in its message; bmad's message has the line and a hint instead."""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(_kubeconfig()).replace(TOKEN, f"*{TOKEN}"))
    with pytest.raises(ConfigError) as refused:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(path)))
    assert refused.value.reason == "invalid YAML: found undefined alias" and refused.value.line
    assert TOKEN not in str(refused.value) and "quote it" in (refused.value.hint or "")


def test_an_alias_bomb_is_refused_before_the_kubernetes_package_expands_it(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(alias_bomb() + "clusters: []\n")
    with pytest.raises(ConfigError) as refused:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(path)))
    assert refused.value.file == str(path) and refused.value.line


@pytest.mark.timeout(60)
def test_a_kubeconfig_that_is_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """bmad and the kubernetes package read a kubeconfig more than once, and a FIFO's open waits for a
    writer: before, bmad waited forever."""
    path = tmp_path / "kubeconfig"
    os.mkfifo(path)
    with pytest.raises(ConfigError) as refused:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(path)))
    assert refused.value.file == str(path) and "must be a regular file" in refused.value.reason
