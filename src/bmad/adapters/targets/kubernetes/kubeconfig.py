"""Which cluster, as kubectl chooses it: kubeconfig (exec plugins too) or the in-cluster account.

``target.kubernetes.kubeconfig``, else ``KUBECONFIG`` (a path list, merged), else
``~/.kube/config``; else the in-cluster service account. The ``kubernetes`` package is used only to
load the kubeconfig (its TLS files, tokens, exec and auth-provider plugins); requests go through
:class:`~.client.KubeApi`.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from bmad.adapters._answers import SHAPE_ERRORS
from bmad.config.deploy import KubernetesTargetConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError, Unreachable
from bmad.core.redact import redact
from bmad.core.yaml_limits import yaml_error

from .client import SYSTEM, Credentials, KubeApi
from .kubeconfig_shape import check_kubeconfig_file

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

# What to install when an exec credential plugin is missing (the kubeconfig's installHint wins).
PLUGIN_INSTALL = {
    "aws": "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)",
    "aws-iam-authenticator": "install aws-iam-authenticator (https://github.com/kubernetes-sigs/aws-iam-authenticator)",
    "gke-gcloud-auth-plugin": "gcloud components install gke-gcloud-auth-plugin",
    "kubelogin": "install kubelogin: az aks install-cli",
    "gcloud": "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)",
    "az": "install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli)",
}


@datatype(frozen=True)
class Cluster:
    """A connected API client, the namespace the kubeconfig names (None: none named), and where from."""

    api: KubeApi
    namespace: str | None
    where: str


def kubeconfig_path(config: KubernetesTargetConfig, base_dir: str | None) -> str | None:
    path = config.kubeconfig
    if path and base_dir and not Path(path).is_absolute():
        path = str(Path(base_dir) / path)
    if not path:
        path = os.environ.get("KUBECONFIG") or None
    if not path:
        default = Path.home() / ".kube" / "config"
        path = str(default) if default.exists() else None
    return path


def locate_cluster(config: KubernetesTargetConfig, *, base_dir: str | None = None) -> Cluster:
    """The cluster and namespace as kubectl picks them; the namespace is None when nothing names one."""
    path = kubeconfig_path(config, base_dir)
    if path:
        return _from_kubeconfig(config, path)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster(config)
    raise Unreachable(
        SYSTEM,
        "finding a cluster",
        "no kubeconfig (target.kubernetes.kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a cluster",
        hint="set KUBECONFIG or target.kubernetes.kubeconfig in bmad.yaml",
    )


def connect(config: KubernetesTargetConfig, *, base_dir: str | None = None) -> tuple[KubeApi, str, str]:
    """(client, namespace, where); the namespace falls back to ``default`` as kubectl's does."""
    cluster = locate_cluster(config, base_dir=base_dir)
    return cluster.api, cluster.namespace or "default", cluster.where


def _from_kubeconfig(config: KubernetesTargetConfig, path: str) -> Cluster:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    loader: Any = k8s_config
    files = [p for p in path.split(os.pathsep) if p]
    if not any(Path(p).exists() for p in files):
        raise Unreachable(
            SYSTEM,
            "loading kubeconfig",
            f"{path} does not exist",
            hint="set target.kubernetes.kubeconfig or KUBECONFIG",
        )
    for name in files:
        check_kubeconfig_file(name)  # a file kubectl refuses: one ConfigError (file, line, field)
    try:
        contexts, current = loader.list_kube_config_contexts(config_file=path)
    except ConfigException as exc:
        raise Unreachable(SYSTEM, "loading kubeconfig", redact(str(exc))[:300]) from None
    except SHAPE_ERRORS as exc:  # what the shape check above does not know of yet
        raise _unreadable(path, exc) from None
    except yaml.YAMLError as exc:  # PyYAML's pure-Python parser refuses a little more than libyaml
        raise yaml_error(exc, _file_of(exc, path)) from None
    chosen = config.context or (current or {}).get("name")
    context = next((c for c in contexts if c.get("name") == chosen), None)
    if context is None:
        raise Unreachable(
            SYSTEM,
            "choosing a kubeconfig context",
            f"context {chosen!r} not found in {path}",
            hint="kubectl config get-contexts lists them",
        )
    user = str((context.get("context") or {}).get("user") or "?")
    _check_exec_plugin(files, user)
    configuration: Any = k8s_client.Configuration()
    with _ExecErrors() as exec_errors:
        try:
            loader.load_kube_config(
                config_file=path, context=chosen, client_configuration=configuration, persist_config=False
            )
        except ConfigException as exc:
            raise _plugin_failure(files, user, str(exc)) from None
        except SHAPE_ERRORS as exc:
            raise _unreadable(path, exc) from None
    if exec_errors.messages and not configuration.api_key:
        # The loader logs a failing exec plugin and goes on without a token (a bare 401 later).
        raise _plugin_failure(files, user, exec_errors.messages[-1])
    namespace = config.namespace or (context.get("context") or {}).get("namespace") or None
    identity = f'user "{user}" of context "{chosen}"'
    api = KubeApi(_credentials(configuration, identity), timeout=config.request_timeout_seconds)
    return Cluster(api, namespace, f"kubeconfig {path} context {chosen}")


def _in_cluster(config: KubernetesTargetConfig) -> Cluster:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    loader: Any = k8s_config
    configuration: Any = k8s_client.Configuration()
    try:
        loader.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise Unreachable(SYSTEM, "loading in-cluster config", str(exc)[:300]) from None
    ns_file = SA_DIR / "namespace"
    namespace = config.namespace or (ns_file.read_text().strip() if ns_file.exists() else None)
    api = KubeApi(_credentials(configuration, "the pod's service account"), timeout=config.request_timeout_seconds)
    return Cluster(api, namespace, "in-cluster service account")


class _ExecErrors(logging.Handler):
    """Collects what the kubernetes loader logs about a failing exec plugin (``exec: ...``)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("exec:"):
            self.messages.append(message)

    def __enter__(self) -> _ExecErrors:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def _credentials(configuration: Any, identity: str) -> Credentials:
    """Host, token (re-read on each request so exec plugins and projected tokens refresh), TLS files."""

    def token() -> str | None:
        # "BearerToken" since kubernetes 29's generator, "authorization" before and in-cluster.
        for key in ("BearerToken", "authorization"):
            if key in configuration.api_key:
                value = configuration.get_api_key_with_prefix(key)
                return str(value) if value else None
        return None

    verify: bool | str = bool(configuration.verify_ssl)
    if verify and configuration.ssl_ca_cert:
        verify = str(configuration.ssl_ca_cert)
    cert = (str(configuration.cert_file), str(configuration.key_file)) if configuration.cert_file else None
    return Credentials(str(configuration.host), identity, token, verify, cert)


def _exec_config(files: list[str], user: str) -> dict[str, Any] | None:
    import yaml

    from bmad.core.yaml_nodes import safe_load

    for name in files:
        try:
            data = safe_load(Path(name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        users = data.get("users") if isinstance(data, dict) else None
        for entry in users if isinstance(users, list) else []:
            if isinstance(entry, dict) and entry.get("name") == user:
                settings = entry.get("user")
                found = settings.get("exec") if isinstance(settings, dict) else None
                return found if isinstance(found, dict) else None
    return None


def _check_exec_plugin(files: list[str], user: str) -> None:
    plugin = _exec_config(files, user)
    if not plugin or not plugin.get("command"):
        return
    command = str(plugin["command"])
    if shutil.which(command) is None:
        raise Unreachable(
            SYSTEM,
            "running the kubeconfig's exec credential plugin",
            f"user {user!r} gets its token from {command!r}, which is not on PATH",
            hint=str(plugin.get("installHint") or PLUGIN_INSTALL.get(Path(command).name) or f"install {command}"),
        )


def _file_of(exc: yaml.YAMLError, path: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    return str(getattr(mark, "name", "") or path)


def _unreadable(path: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"the kubernetes client could not read it ({type(exc).__name__})",
        file=path,
        hint="`kubectl config view` shows whether kubectl reads it; the fields: "
        "https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/",
    )


def _plugin_failure(files: list[str], user: str, detail: str) -> Unreachable:
    plugin = _exec_config(files, user)
    if plugin and plugin.get("command"):
        command = str(plugin["command"])
        return Unreachable(
            SYSTEM,
            "running the kubeconfig's exec credential plugin",
            f"{command!r} (user {user!r}) failed: {redact(detail)[:300]}",
            hint=f"run `{command} {' '.join(map(str, plugin.get('args') or []))}` by hand to see why "
            "(logged in? the right profile or project?)",
        )
    return Unreachable(SYSTEM, "loading kubeconfig", redact(detail)[:300])
