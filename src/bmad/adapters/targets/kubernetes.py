"""Kubernetes as a deployment target, through the official ``kubernetes`` client (imported lazily).

* **Which cluster** — as kubectl chooses it: ``target.kubernetes.kubeconfig``, else ``KUBECONFIG``
  (a path list, merged), else ``~/.kube/config``; else the in-cluster service account when bmad
  runs as a Job. The context is ``target.kubernetes.context`` or the current-context; the
  namespace ``target.kubernetes.namespace``, else the context's namespace, else ``default``.
* **Apply** — the bundle in the guide's order (Namespace, ConfigMap, Secret, Deployment, Service,
  Ingress, NetworkPolicy, HPA, then anything else) with server-side apply, field manager ``bmad``.
  Before the Deployment, every Secret it references must exist with the referenced keys: bmad never
  invents secret values. The Deployment's container image is pinned to the pushed digest.
* **Wait** — kubectl ``rollout status`` semantics (observedGeneration, updated / ready / available
  replicas, ``ProgressDeadlineExceeded``), plus an early stop when new pods crash-loop or cannot pull.
* **Rollback** — like ``kubectl rollout undo``: the previous ReplicaSet's pod template goes back into
  the Deployment (or the template of a snapshot). **Diagnose** maps pod and rollout states to the
  guide's troubleshooting causes and resolutions.

The HTTP calls go through the client's own ``ApiClient`` (its TLS, auth and proxy settings from the
kubeconfig); bodies are plain JSON so any kind can be applied.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bmad.config.deploy import KubernetesTargetConfig
from bmad.core.errors import AdapterError, Unreachable
from bmad.core.redact import redact
from bmad.ports.progress import Progress
from bmad.ports.target import DeploySpec, Diagnosis, HttpProbe, RolloutState, TargetSnapshot

SYSTEM = "kubernetes"
FIELD_MANAGER = "bmad"
REVISION = "deployment.kubernetes.io/revision"
RELEASE_ANNOTATION = "bmad.dev/release"
SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

# The guide's DEPLOY order; kinds not listed follow, in the bundle's order.
APPLY_ORDER = (
    "Namespace",
    "PriorityClass",  # cluster-scoped, referenced by pods: before anything that creates pods
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Deployment",
    "Service",
    "Ingress",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
)

# kind -> (path prefix, plural, namespaced) for the kinds bmad meets most; others via discovery.
BUILTIN_KINDS: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("v1", "Namespace"): ("/api/v1", "namespaces", False),
    ("v1", "ConfigMap"): ("/api/v1", "configmaps", True),
    ("v1", "Secret"): ("/api/v1", "secrets", True),
    ("v1", "Service"): ("/api/v1", "services", True),
    ("v1", "ServiceAccount"): ("/api/v1", "serviceaccounts", True),
    ("v1", "Pod"): ("/api/v1", "pods", True),
    ("v1", "Event"): ("/api/v1", "events", True),
    ("v1", "ResourceQuota"): ("/api/v1", "resourcequotas", True),
    ("v1", "LimitRange"): ("/api/v1", "limitranges", True),
    ("v1", "PersistentVolumeClaim"): ("/api/v1", "persistentvolumeclaims", True),
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments", True),
    ("apps/v1", "ReplicaSet"): ("/apis/apps/v1", "replicasets", True),
    ("networking.k8s.io/v1", "Ingress"): ("/apis/networking.k8s.io/v1", "ingresses", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
    ("autoscaling/v1", "HorizontalPodAutoscaler"): ("/apis/autoscaling/v1", "horizontalpodautoscalers", True),
    ("policy/v1", "PodDisruptionBudget"): ("/apis/policy/v1", "poddisruptionbudgets", True),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("/apis/scheduling.k8s.io/v1", "priorityclasses", False),
}

CRASH_CAUSES = [
    "missing environment variables",
    "incorrect secrets",
    "database connection failures",
    "insufficient resources",
]
CRASH_FIXES = [
    "read the last log lines above",
    "verify the ConfigMap: kubectl get configmap <name> -n {ns} -o yaml",
    "verify secrets exist: kubectl get secret <name> -n {ns}",
    "check resource limits: kubectl describe pod {pod} -n {ns} | grep -A 5 Limits",
]
SLOW_CAUSES = [
    "insufficient cluster resources",
    "image pull failures",
    "readiness probe failures",
    "resource quota exceeded",
]
SLOW_FIXES = [
    "check node resources: kubectl top nodes",
    "check image pull: kubectl describe pod <pod> -n {ns} | grep -A 10 Events",
    "raise deploy.rollout_timeout_seconds (kubectl rollout status --timeout=10m)",
]
LATENCY_CAUSES = [
    "under-provisioned resources",
    "database query performance",
    "external service latency",
    "insufficient replicas",
]
LATENCY_FIXES = [
    "scale up now: kubectl scale deployment/{name} -n {ns} --replicas=<more>",
    "review HPA thresholds (may be too conservative): kubectl edit hpa -n {ns}",
    "check database performance (EXPLAIN ANALYZE slow queries)",
]


def sort_bundle(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The guide's apply order; a stable sort keeps the bundle's order within a kind and for the rest."""

    def rank(obj: dict[str, Any]) -> int:
        kind = str(obj.get("kind", ""))
        return APPLY_ORDER.index(kind) if kind in APPLY_ORDER else len(APPLY_ORDER)

    return sorted(objects, key=rank)


def secret_references(pod_spec: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(secret name, key or None) every non-optional reference of a pod spec."""
    refs: list[tuple[str, str | None]] = []
    containers = list(pod_spec.get("containers") or []) + list(pod_spec.get("initContainers") or [])
    for container in containers:
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                refs.append((str(ref["name"]), str(ref["key"])))
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref and not ref.get("optional"):
                refs.append((str(ref["name"]), None))
    for volume in pod_spec.get("volumes") or []:
        secret = volume.get("secret")
        if secret and not secret.get("optional"):
            for item in secret.get("items") or [{}]:
                refs.append((str(secret["secretName"]), item.get("key")))
    for pull in pod_spec.get("imagePullSecrets") or []:
        refs.append((str(pull["name"]), None))
    return list(dict.fromkeys(refs))


def rollout_status(deployment: dict[str, Any]) -> tuple[bool, bool, str]:
    """(done, failed, message) exactly as ``kubectl rollout status`` reads a Deployment."""
    name = deployment.get("metadata", {}).get("name", "?")
    meta, spec, status = deployment.get("metadata", {}), deployment.get("spec", {}), deployment.get("status") or {}
    if int(meta.get("generation") or 0) <= int(status.get("observedGeneration") or 0):
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
                return False, True, f'deployment "{name}" exceeded its progress deadline'
        desired = spec.get("replicas", 1)
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        if desired is not None and updated < int(desired):
            return (
                False,
                False,
                (
                    f'Waiting for deployment "{name}" rollout to finish: {updated} out of {desired} '
                    "new replicas have been updated..."
                ),
            )
        if total > updated:
            return (
                False,
                False,
                (
                    f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas '
                    "are pending termination..."
                ),
            )
        if available < updated:
            return (
                False,
                False,
                (
                    f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
                    "updated replicas are available..."
                ),
            )
        return True, False, f'deployment "{name}" successfully rolled out'
    return False, False, "Waiting for deployment spec update to be observed..."


def pod_problem(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) of a pod that is failing, or None."""
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in (
            "CrashLoopBackOff",
            "ImagePullBackOff",
            "ErrImagePull",
            "InvalidImageName",
            "CreateContainerConfigError",
            "CreateContainerError",
        ):
            return str(reason), str(waiting.get("message") or "")
        restarts = int(cs.get("restartCount") or 0)
        terminated = (cs.get("state") or {}).get("terminated") or {}
        if terminated and terminated.get("exitCode", 0) != 0 and restarts > 0:
            return "CrashLoopBackOff", str(terminated.get("reason") or "")
        # Between two crashes the container runs again (kubectl shows Running, RESTARTS n): still a loop.
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last and last.get("exitCode", 0) != 0 and restarts > 0 and not cs.get("ready"):
            return "CrashLoopBackOff", f"restarted {restarts} time(s), last exit code {last.get('exitCode')}"
    if status.get("phase") == "Failed":
        return "Failed", str(status.get("message") or "")
    return None


def pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    return clean


def selector_string(selector: dict[str, Any]) -> str:
    labels = selector.get("matchLabels") or {}
    parts = [f"{k}={v}" for k, v in sorted(labels.items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


class KubeApi:
    """JSON over the official client's ApiClient: any path, any verb, errors as AdapterError."""

    def __init__(self, api_client: Any, *, timeout: float = 15.0) -> None:
        self._api = api_client
        self._timeout = timeout
        self._discovery: dict[str, dict[str, tuple[str, bool]]] = {}
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        missing_ok: bool = False,
        raw: bool = False,
    ) -> Any:
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json" if not raw else "*/*"}
        if content_type:
            headers["Content-Type"] = content_type
        elif body is not None:
            headers["Content-Type"] = "application/json"
        try:
            verb, url, header_params, serialized, post = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(
                verb,
                url,
                header_params=header_params,
                body=serialized,
                post_params=post,
                _request_timeout=self._timeout,
            )
            response.read()
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            detail = _status_message(exc.body) or str(exc.reason or "")
            raise AdapterError(
                SYSTEM,
                f"{method} {path}",
                redact(detail),
                status=exc.status,
                temporary=exc.status in (429, 500, 502, 503, 504),
            ) from None
        except Exception as exc:  # urllib3 / socket errors: the API server did not answer
            if type(exc).__module__.startswith(("urllib3", "socket", "ssl", "http")) or isinstance(exc, OSError):
                raise Unreachable(
                    SYSTEM,
                    f"{method} {path}",
                    redact(str(exc))[:300],
                    hint=f"is the API server at {self.host} reachable?",
                ) from None
            raise
        data = response.data
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data or "")
        if response.status >= 400:
            if response.status == 404 and missing_ok:
                return None
            raise AdapterError(
                SYSTEM,
                f"{method} {path}",
                redact(_status_message(text) or text[:300]),
                status=response.status,
                temporary=response.status in (429, 500, 502, 503, 504),
                hint="check the kubeconfig credentials" if response.status in (401, 403) else None,
            )
        if raw:
            return text
        return json.loads(text) if text.strip() else None

    def resource(self, api_version: str, kind: str) -> tuple[str, str, bool]:
        """(path prefix, plural, namespaced) of a kind, from the built-in table or API discovery."""
        known = BUILTIN_KINDS.get((api_version, kind))
        if known is not None:
            return known
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        with self._lock:
            table = self._discovery.get(prefix)
        if table is None:
            listing = self.request("GET", prefix) or {}
            table = {
                str(r["kind"]): (str(r["name"]), bool(r.get("namespaced")))
                for r in listing.get("resources", [])
                if "/" not in str(r.get("name", ""))
            }
            with self._lock:
                self._discovery[prefix] = table
        if kind not in table:
            raise AdapterError(
                SYSTEM,
                f"finding the resource for {api_version} {kind}",
                "the API server does not serve this kind",
                hint="is the CRD installed?",
            )
        plural, namespaced = table[kind]
        return prefix, plural, namespaced

    def object_path(self, api_version: str, kind: str, name: str | None, namespace: str | None) -> str:
        prefix, plural, namespaced = self.resource(api_version, kind)
        path = prefix
        if namespaced and namespace:
            path += f"/namespaces/{quote(namespace)}"
        path += f"/{plural}"
        if name:
            path += f"/{quote(name)}"
        return path

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        result = self.request("GET", self.object_path(api_version, kind, name, namespace), missing_ok=True)
        return result if isinstance(result, dict) else None

    def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        query = []
        if selector:
            query.append(("labelSelector", selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        result = self.request("GET", self.object_path(api_version, kind, None, namespace), query=query)
        return list((result or {}).get("items") or [])

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        path = self.object_path(str(obj["apiVersion"]), str(obj["kind"]), str(meta["name"]), meta.get("namespace"))
        result = self.request(
            "PATCH",
            path,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )
        return result if isinstance(result, dict) else {}

    def json_patch(
        self, api_version: str, kind: str, name: str, namespace: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        result = self.request(
            "PATCH",
            self.object_path(api_version, kind, name, namespace),
            query=[("fieldManager", FIELD_MANAGER)],
            body=operations,
            content_type="application/json-patch+json",
        )
        return result if isinstance(result, dict) else {}


def _status_message(body: Any) -> str:
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return str(body)[:300]
    return str(data.get("message") or data.get("reason") or "")[:300] if isinstance(data, dict) else ""


def connect(config: KubernetesTargetConfig, *, base_dir: str | None = None) -> tuple[Any, str, str]:
    """(ApiClient, namespace, where) chosen as kubectl does; ``where`` names the source for evidence."""
    from kubernetes import client as _client
    from kubernetes import config as _config
    from kubernetes.config.config_exception import ConfigException

    k8s_client: Any = _client
    k8s_config: Any = _config

    path = config.kubeconfig
    if path and base_dir and not Path(path).is_absolute():
        path = str(Path(base_dir) / path)
    if not path:
        path = os.environ.get("KUBECONFIG") or None
    if not path:
        default = Path.home() / ".kube" / "config"
        path = str(default) if default.exists() else None
    if path:
        files = [p for p in path.split(os.pathsep) if p]
        if not any(Path(p).exists() for p in files):
            raise Unreachable(
                SYSTEM,
                "loading kubeconfig",
                f"{path} does not exist",
                hint="set target.kubernetes.kubeconfig or KUBECONFIG",
            )
        try:
            contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
            chosen = config.context or (current or {}).get("name")
            context = next((c for c in contexts if c.get("name") == chosen), None)
            if context is None:
                raise Unreachable(
                    SYSTEM,
                    "choosing a kubeconfig context",
                    f"context {chosen!r} not found in {path}",
                    hint="kubectl config get-contexts lists them",
                )
            configuration = k8s_client.Configuration()
            k8s_config.load_kube_config(
                config_file=path, context=chosen, client_configuration=configuration, persist_config=False
            )
        except ConfigException as exc:
            raise Unreachable(SYSTEM, "loading kubeconfig", redact(str(exc))[:300]) from None
        namespace = config.namespace or (context.get("context") or {}).get("namespace") or "default"
        return k8s_client.ApiClient(configuration), namespace, f"kubeconfig {path} context {chosen}"
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise Unreachable(SYSTEM, "loading in-cluster config", str(exc)[:300]) from None
        ns_file = SA_DIR / "namespace"
        namespace = config.namespace or (ns_file.read_text().strip() if ns_file.exists() else "default")
        return k8s_client.ApiClient(configuration), namespace, "in-cluster service account"
    raise Unreachable(
        SYSTEM,
        "finding a cluster",
        "no kubeconfig (target.kubernetes.kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a cluster",
        hint="set KUBECONFIG or target.kubernetes.kubeconfig in bmad.yaml",
    )


class KubernetesTarget:
    kind = "kubernetes"

    def __init__(
        self,
        config: KubernetesTargetConfig,
        *,
        probe: HttpProbe,
        health_path: str = "/health",
        base_dir: str | None = None,
        api: KubeApi | None = None,
        namespace: str | None = None,
        poll_interval: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        rollback_timeout: float = 120.0,
    ) -> None:
        self.config = config
        self.probe = probe
        self.health_path = health_path
        self._base_dir = base_dir
        self._api = api
        self._namespace = namespace
        self.where = ""
        self._poll = poll_interval
        self._sleep = sleep
        self.rollback_timeout = rollback_timeout
        self._lock = threading.Lock()

    # -- connection ----------------------------------------------------------------------------
    @property
    def api(self) -> KubeApi:
        with self._lock:
            if self._api is None:
                client, namespace, where = connect(self.config, base_dir=self._base_dir)
                self._api = KubeApi(client, timeout=self.config.request_timeout_seconds)
                self._namespace = self._namespace or namespace
                self.where = where
            return self._api

    @property
    def namespace(self) -> str:
        _ = self.api
        return self._namespace or "default"

    def deployment_name(self, service: str) -> str:
        return self.config.deployment or service

    def _deployment(self, service: str) -> dict[str, Any] | None:
        return self.api.get("apps/v1", "Deployment", self.deployment_name(service), self.namespace)

    # -- apply ---------------------------------------------------------------------------------
    def prepare_bundle(self, spec: DeploySpec) -> list[dict[str, Any]]:
        """The objects to apply, in order: namespaced, the image pinned, the release annotated."""
        namespace = self.namespace
        objects = [copy.deepcopy(o) for o in spec.manifests]
        if not any(o.get("kind") == "Namespace" and o.get("metadata", {}).get("name") == namespace for o in objects):
            objects.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        name = self.deployment_name(spec.service)
        deployments = [o for o in objects if o.get("kind") == "Deployment"]
        target = next((o for o in deployments if o.get("metadata", {}).get("name") == name), None)
        if target is None and len(deployments) == 1 and not self.config.deployment:
            target = deployments[0]
            self.config = self.config.model_copy(update={"deployment": target["metadata"]["name"]})
        if target is None:
            raise AdapterError(
                SYSTEM,
                "preparing the bundle",
                f"no Deployment named {name!r} in the manifests",
                hint="set target.kubernetes.deployment to the Deployment's name",
            )
        for obj in objects:
            meta = obj.setdefault("metadata", {})
            if obj.get("kind") != "Namespace":
                _prefix, _plural, namespaced = self.api.resource(str(obj.get("apiVersion")), str(obj.get("kind")))
                if namespaced:
                    meta["namespace"] = namespace
        pod = target.setdefault("spec", {}).setdefault("template", {})
        containers = pod.setdefault("spec", {}).get("containers") or []
        if not containers:
            raise AdapterError(SYSTEM, "preparing the bundle", f"Deployment {name} has no containers")
        chosen = next((c for c in containers if c.get("name") == self.config.container), containers[0])
        chosen["image"] = spec.pinned_image
        pod.setdefault("metadata", {}).setdefault("annotations", {})[RELEASE_ANNOTATION] = spec.version
        labels = target["metadata"].setdefault("labels", {})
        labels.setdefault("app.kubernetes.io/managed-by", "bmad")
        if spec.replicas:
            target["spec"]["replicas"] = spec.replicas
        return sort_bundle(objects)

    def missing_secrets(self, bundle: list[dict[str, Any]]) -> list[str]:
        missing: list[str] = []
        bundled = {
            o["metadata"]["name"]: set((o.get("data") or {}) | (o.get("stringData") or {}))
            for o in bundle
            if o.get("kind") == "Secret"
        }
        for obj in bundle:
            if obj.get("kind") != "Deployment":
                continue
            pod_spec = obj.get("spec", {}).get("template", {}).get("spec", {})
            for name, key in secret_references(pod_spec):
                keys = bundled.get(name)
                if keys is None:
                    keys = self.secret_keys(name, namespace=self.namespace)
                if keys is None:
                    missing.append(f"secret/{name}")
                elif key is not None and key not in keys:
                    missing.append(f"secret/{name} key {key}")
        return list(dict.fromkeys(missing))

    def apply(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        bundle = self.prepare_bundle(spec)
        before = self._deployment(spec.service)
        applied: list[str] = []
        task = progress.task(f"applying {len(bundle)} object(s) to {self.namespace}", total=len(bundle))
        deployment_index = next(i for i, o in enumerate(bundle) if o.get("kind") == "Deployment")
        for index, obj in enumerate(bundle):
            if index == deployment_index:
                missing = self.missing_secrets(bundle)
                if missing:
                    task.done()
                    return {"applied": applied, "missing_secrets": missing, "namespace": self.namespace}
            result = self.api.apply(obj)
            meta = obj["metadata"]
            applied.append(f"{obj['kind']}/{meta['name']}")
            task.advance()
            progress.log(
                f"applied {obj['kind']}/{meta['name']} (generation {result.get('metadata', {}).get('generation', '-')})"
            )
        task.done()
        after = self._deployment(spec.service) or {}
        return {
            "applied": applied,
            "namespace": self.namespace,
            "cluster": self.where or self.api.host,
            "deployment": self.deployment_name(spec.service),
            "generation": after.get("metadata", {}).get("generation"),
            "previous_revision": (before or {}).get("metadata", {}).get("annotations", {}).get(REVISION),
            "image": spec.pinned_image,
            "summary": f"{len(applied)} object(s) applied with server-side apply",
        }

    # -- rollout -------------------------------------------------------------------------------
    def _pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        selector = selector_string(deployment.get("spec", {}).get("selector") or {})
        return self.api.list_objects("v1", "Pod", self.namespace, selector=selector or None)

    def _replicasets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        selector = selector_string(deployment.get("spec", {}).get("selector") or {})
        uid = deployment.get("metadata", {}).get("uid")
        sets = self.api.list_objects("apps/v1", "ReplicaSet", self.namespace, selector=selector or None)
        owned = [
            rs
            for rs in sets
            if not uid or any(o.get("uid") == uid for o in rs.get("metadata", {}).get("ownerReferences") or [])
        ]
        return sorted(owned, key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, "0")))

    def _current_pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        revision = deployment.get("metadata", {}).get("annotations", {}).get(REVISION)
        pods = self._pods(deployment)
        current = [
            rs
            for rs in self._replicasets(deployment)
            if rs["metadata"].get("annotations", {}).get(REVISION) == revision
        ]
        if not current:
            return pods
        pod_hash = current[-1]["metadata"].get("labels", {}).get("pod-template-hash")
        return [p for p in pods if p.get("metadata", {}).get("labels", {}).get("pod-template-hash") == pod_hash]

    def observe(self, service: str, started: float) -> RolloutState:
        deployment = self._deployment(service)
        if deployment is None:
            return RolloutState(
                False,
                0,
                0,
                0,
                0,
                message="deployment not found",
                failed=True,
                reason="NotFound",
                seconds=time.monotonic() - started,
            )
        done, failed, message = rollout_status(deployment)
        status = deployment.get("status") or {}
        pods = self._current_pods(deployment)
        running = sum(1 for p in pods if pod_ready(p))
        problems = [(p, pod_problem(p)) for p in pods]
        bad = [(p, prob) for p, prob in problems if prob is not None]
        restarts = sum(
            int(cs.get("restartCount") or 0)
            for p in pods
            for cs in (p.get("status") or {}).get("containerStatuses") or []
        )
        reason = "ProgressDeadlineExceeded" if failed else ""
        if not done and not failed and bad:
            kinds = {prob[0] for _p, prob in bad}
            # Fail fast: a crash loop that restarted, or an image that cannot be pulled, will not heal.
            pulls = kinds & {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}
            if pulls or "CreateContainerConfigError" in kinds or ("CrashLoopBackOff" in kinds and restarts >= 2):
                failed = True
                reason = sorted(pulls)[0] if pulls else sorted(kinds)[0]
                names = ", ".join(p["metadata"]["name"] for p, _ in bad)
                message = f"{reason}: {names}"
        desired = int(deployment.get("spec", {}).get("replicas", 1) or 0)
        return RolloutState(
            ready=done,
            desired=desired,
            updated=int(status.get("updatedReplicas") or 0),
            ready_replicas=int(status.get("readyReplicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            message=message,
            failed=failed,
            reason=reason,
            pods_running=running,
            pods_failed=len(bad),
            restarts=restarts,
            seconds=time.monotonic() - started,
        )

    def wait_ready(
        self, spec: DeploySpec, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        return self._wait(spec.service, timeout=timeout, progress=progress, cancel=cancel)

    def _wait(
        self, service: str, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        started = time.monotonic()
        task = progress.task(f"rollout of deployment/{self.deployment_name(service)}")
        last_message = ""
        try:
            while True:
                state = self.observe(service, started)
                if state.message != last_message:
                    task.update(state.message, completed=state.available)
                    last_message = state.message
                if state.ready or state.failed:
                    return state
                cancelled = cancel is not None and cancel.is_set()
                if cancelled or time.monotonic() - started >= timeout:
                    return RolloutState(
                        False,
                        state.desired,
                        state.updated,
                        state.ready_replicas,
                        state.available,
                        message=("cancelled" if cancelled else f"timed out after {timeout:.0f}s")
                        + f": {state.message}",
                        failed=True,
                        reason="Timeout",
                        pods_running=state.pods_running,
                        pods_failed=state.pods_failed,
                        restarts=state.restarts,
                        seconds=time.monotonic() - started,
                    )
                self._sleep(self._poll)
        finally:
            task.done()

    def endpoints(self, spec: DeploySpec) -> list[str]:
        return [self.config.url.rstrip("/")] if self.config.url else []

    def serving_endpoints(self, service: str, environment: str) -> list[str]:
        return [self.config.url.rstrip("/")] if self.config.url else []

    def cut_over(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        return {"note": "the rolling update already replaced the old pods; old ReplicaSets are kept for undo"}

    # -- state ---------------------------------------------------------------------------------
    def status(self, service: str, environment: str) -> dict[str, Any]:
        deployment = self._deployment(service)
        if deployment is None:
            return {"kind": self.kind, "namespace": self.namespace, "deployment": None}
        done, failed, message = rollout_status(deployment)
        pods = self._pods(deployment)
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "deployment": self.deployment_name(service),
            "revision": deployment["metadata"].get("annotations", {}).get(REVISION),
            "release": _release_of(deployment),
            "images": _images(deployment),
            "rollout": {"done": done, "failed": failed, "message": message},
            "pods": [_pod_summary(p) for p in pods],
            "revisions": [
                {
                    "revision": rs["metadata"].get("annotations", {}).get(REVISION),
                    "release": (
                        rs.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
                    ).get(RELEASE_ANNOTATION),
                    "replicas": rs.get("status", {}).get("replicas", 0),
                }
                for rs in self._replicasets(deployment)
            ],
        }

    def snapshot(self, service: str, environment: str) -> TargetSnapshot:
        deployment = self._deployment(service)
        base = {
            "kind": self.kind,
            "service": service,
            "environment": environment,
            "namespace": self.namespace,
            "deployment": self.deployment_name(service),
        }
        if deployment is None:
            return TargetSnapshot.from_dict({**base, "exists": False})
        return TargetSnapshot.from_dict(
            {
                **base,
                "exists": True,
                "revision": deployment["metadata"].get("annotations", {}).get(REVISION),
                "release": _release_of(deployment),
                "replicas": deployment.get("spec", {}).get("replicas"),
                "images": _images(deployment),
                "template": template_without_hash(deployment.get("spec", {}).get("template") or {}),
            }
        )

    def rollback(
        self, service: str, environment: str, *, to: dict[str, Any] | None, progress: Progress
    ) -> RolloutState:
        deployment = self._deployment(service)
        name = self.deployment_name(service)
        if deployment is None:
            raise AdapterError(SYSTEM, "rolling back", f"deployment {name} not found in {self.namespace}")
        if to and to.get("template"):
            template = copy.deepcopy(to["template"])
            where = f"snapshot (release {str(to.get('release') or '?')[:12]}, revision {to.get('revision')})"
        elif to and (to.get("release") or to.get("version")):
            wanted = str(to.get("release") or to.get("version"))
            matches = [
                rs
                for rs in self._replicasets(deployment)
                if (rs.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}).get(
                    RELEASE_ANNOTATION
                )
                == wanted
            ]
            if not matches:
                raise AdapterError(
                    SYSTEM,
                    "rolling back",
                    f"no ReplicaSet of {name} runs release {wanted[:12]}",
                    hint="its revision was pruned (revisionHistoryLimit): deploy it again",
                )
            template = template_without_hash(matches[-1].get("spec", {}).get("template") or {})
            where = f"release {wanted[:12]} (revision {matches[-1]['metadata'].get('annotations', {}).get(REVISION)})"
        else:
            revision = int(deployment["metadata"].get("annotations", {}).get(REVISION, "0") or 0)
            older = [
                rs
                for rs in self._replicasets(deployment)
                if int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) < revision
            ]
            if not older:
                raise AdapterError(
                    SYSTEM,
                    "rolling back",
                    f"deployment {name} has no previous revision",
                    hint="the first release cannot be undone; deploy a known-good version",
                )
            previous = older[-1]
            template = template_without_hash(previous.get("spec", {}).get("template") or {})
            where = f"revision {previous['metadata'].get('annotations', {}).get(REVISION)}"
        progress.log(f"rolling back deployment/{name} to {where}")
        operations: list[dict[str, Any]] = [{"op": "replace", "path": "/spec/template", "value": template}]
        if to and to.get("replicas"):
            operations.append({"op": "replace", "path": "/spec/replicas", "value": int(to["replicas"])})
        self.api.json_patch("apps/v1", "Deployment", name, self.namespace, operations)
        return self._wait(service, timeout=self.rollback_timeout, progress=progress)

    # -- diagnose ------------------------------------------------------------------------------
    def diagnose(self, service: str, environment: str) -> list[Diagnosis]:
        ns = self.namespace
        deployment = self._deployment(service)
        name = self.deployment_name(service)
        if deployment is None:
            return [
                Diagnosis(
                    "Deployment missing",
                    f"deployment/{name}",
                    [f"not found in namespace {ns}"],
                    ["never deployed to this namespace", "wrong context or namespace"],
                    [f"kubectl get deployments -n {ns}", "check target.kubernetes.context / namespace"],
                )
            ]
        findings: list[Diagnosis] = []
        _done, failed, message = rollout_status(deployment)
        if failed:
            findings.append(
                Diagnosis(
                    "Slow rollout / deployment timeout",
                    f"deployment/{name}",
                    [
                        message,
                        *[
                            f"condition {c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message', '')}"
                            for c in (deployment.get("status") or {}).get("conditions") or []
                        ],
                    ],
                    SLOW_CAUSES,
                    [f.format(ns=ns) for f in SLOW_FIXES],
                )
            )
        for rs in self._replicasets(deployment):
            for cond in (rs.get("status") or {}).get("conditions") or []:
                if cond.get("type") != "ReplicaFailure" or cond.get("status") != "True":
                    continue
                text = str(cond.get("message", ""))
                quota = "quota" in text.lower()
                findings.append(
                    Diagnosis(
                        "Resource quota exceeded" if quota else "Pods rejected at creation",
                        f"replicaset/{rs['metadata']['name']}",
                        [f"{cond.get('reason')}: {text}"],
                        ["resource quota exceeded"]
                        if quota
                        else ["resource limits outside the namespace's LimitRange", "invalid resource requests"],
                        [
                            f"kubectl describe resourcequota,limitrange -n {ns}",
                            "lower the pods' resource requests or raise the quota"
                            if quota
                            else "keep requests <= limits <= the LimitRange maximum",
                        ],
                    )
                )
        for pod in self._pods(deployment):
            findings.extend(self._diagnose_pod(pod))
        if self.config.url:
            answer = self.probe.get(self.config.url.rstrip("/") + self.health_path, timeout=5.0)
            if answer.ok and answer.seconds > 0.5:
                hpas = self.api.list_objects("autoscaling/v2", "HorizontalPodAutoscaler", ns)
                findings.append(
                    Diagnosis(
                        "High latency after deployment",
                        f"deployment/{name}",
                        [
                            f"GET {self.health_path} took {answer.seconds:.2f}s",
                            *[
                                f"hpa/{h['metadata']['name']}: {h.get('status', {}).get('currentReplicas')} "
                                f"replicas (min {h.get('spec', {}).get('minReplicas')}, "
                                f"max {h.get('spec', {}).get('maxReplicas')})"
                                for h in hpas
                            ],
                        ],
                        LATENCY_CAUSES,
                        [f.format(ns=ns, name=name) for f in LATENCY_FIXES],
                    )
                )
        return findings

    def _diagnose_pod(self, pod: dict[str, Any]) -> list[Diagnosis]:
        ns = self.namespace
        pod_name = pod["metadata"]["name"]
        obj = f"pod/{pod_name}"
        status = pod.get("status") or {}
        problem = pod_problem(pod)
        if problem is not None:
            reason, detail = problem
            if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
                images = [c.get("image") for c in pod.get("spec", {}).get("containers") or []]
                return [
                    Diagnosis(
                        "ImagePullBackOff",
                        obj,
                        [f"{reason}: {detail}", *[f"image {i}" for i in images], *self._events(pod_name)],
                        [
                            "image pull failures: the image or digest is not in the registry",
                            "registry credentials missing (imagePullSecrets)",
                            "registry unreachable from the nodes",
                        ],
                        [
                            f"kubectl describe pod {pod_name} -n {ns} | grep -A 10 Events",
                            "check that BUILD pushed this digest to the registry the cluster pulls from",
                            "add or fix imagePullSecrets",
                        ],
                    )
                ]
            restarts = sum(int(cs.get("restartCount") or 0) for cs in status.get("containerStatuses") or [])
            logs = self._logs(pod_name)
            return [
                Diagnosis(
                    "CrashLoopBackOff",
                    obj,
                    [f"{reason} {detail}".strip(), f"restarts {restarts}", *[f"log: {line}" for line in logs]],
                    CRASH_CAUSES,
                    [f.format(ns=ns, pod=pod_name) for f in CRASH_FIXES],
                )
            ]
        if status.get("phase") == "Pending":
            conditions = status.get("conditions") or []
            unschedulable = [c for c in conditions if c.get("type") == "PodScheduled" and c.get("status") == "False"]
            evidence = [f"{c.get('reason')}: {c.get('message')}" for c in unschedulable] + self._events(pod_name)
            return [
                Diagnosis(
                    "Pending: insufficient resources",
                    obj,
                    evidence or ["pod is Pending"],
                    ["insufficient cluster resources", "resource quota exceeded"],
                    [
                        "check node resources: kubectl top nodes",
                        "lower the pod's resource requests or add nodes",
                        f"kubectl describe resourcequota -n {ns}",
                    ],
                )
            ]
        if status.get("phase") == "Running" and not pod_ready(pod):
            events = [e for e in self._events(pod_name) if "probe" in e.lower()] or ["container running, not Ready"]
            return [
                Diagnosis(
                    "Readiness probe failing",
                    obj,
                    events,
                    ["readiness probe failures", "the service cannot reach its dependencies"],
                    [
                        f"kubectl describe pod {pod_name} -n {ns}",
                        "make the readiness path answer 200 when ready",
                        f"kubectl logs {pod_name} -n {ns} --tail=50",
                    ],
                )
            ]
        return []

    def _logs(self, pod_name: str, lines: int = 20) -> list[str]:
        path = f"/api/v1/namespaces/{quote(self.namespace)}/pods/{quote(pod_name)}/log"
        for previous in ("true", "false"):
            try:
                text = self.api.request(
                    "GET", path, query=[("tailLines", str(lines)), ("previous", previous)], raw=True, missing_ok=True
                )
            except AdapterError:
                continue
            if text:
                return [redact(line) for line in str(text).splitlines()[-lines:]]
        return []

    def _events(self, name: str) -> list[str]:
        try:
            events = self.api.list_objects("v1", "Event", self.namespace, field_selector=f"involvedObject.name={name}")
        except AdapterError:
            return []
        return [f"event {e.get('reason')}: {redact(str(e.get('message', '')))}" for e in events[-10:]]

    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None:
        secret = self.api.get("v1", "Secret", name, namespace or self.namespace)
        if secret is None:
            return None
        return set(secret.get("data") or {}) | set(secret.get("stringData") or {})


def _images(deployment: dict[str, Any]) -> list[str]:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return [str(c.get("image")) for c in containers]


def _release_of(deployment: dict[str, Any]) -> str | None:
    annotations = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    value = annotations.get(RELEASE_ANNOTATION)
    return str(value) if value else None


def _pod_summary(pod: dict[str, Any]) -> dict[str, Any]:
    status = pod.get("status") or {}
    problem = pod_problem(pod)
    return {
        "name": pod["metadata"]["name"],
        "phase": status.get("phase"),
        "ready": pod_ready(pod),
        "restarts": sum(int(cs.get("restartCount") or 0) for cs in status.get("containerStatuses") or []),
        "problem": problem[0] if problem else None,
    }
