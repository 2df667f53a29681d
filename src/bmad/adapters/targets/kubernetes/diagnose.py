"""The guide's troubleshooting entries, read from pods, ReplicaSets and events.

Logs are read per container (init containers too; ``previous=true`` for a container that
restarted), so pods with sidecars give every container's lines; an OOMKilled container is
named with its memory limit.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from bmad.core.errors import AdapterError
from bmad.core.redact import redact
from bmad.ports.target import Diagnosis

from .client import KubeApi
from .viewers import pod_problem, pod_ready

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
PULL_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName")


class PodDiagnoser:
    """Findings for one namespace's pods: logs per container, events per object."""

    def __init__(self, api: KubeApi, namespace: str) -> None:
        self.api = api
        self.namespace = namespace

    def diagnose(self, pod: dict[str, Any]) -> list[Diagnosis]:
        status = pod.get("status") or {}
        problem = pod_problem(pod)
        if problem is not None:
            if problem[0] in PULL_REASONS:
                return [self._pull_failure(pod, *problem)]
            return [self._crash(pod, *problem)]
        if status.get("phase") == "Pending":
            return [self._pending(pod)]
        if status.get("phase") == "Running" and not pod_ready(pod):
            return [self._not_ready(pod)]
        return []

    def _pull_failure(self, pod: dict[str, Any], reason: str, detail: str) -> Diagnosis:
        pod_name, ns = pod["metadata"]["name"], self.namespace
        images = [c.get("image") for c in pod.get("spec", {}).get("containers") or []]
        return Diagnosis(
            "ImagePullBackOff",
            f"pod/{pod_name}",
            [f"{reason}: {detail}", *[f"image {i}" for i in images], *self.events(pod_name)],
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

    def _crash(self, pod: dict[str, Any], reason: str, detail: str) -> Diagnosis:
        pod_name, ns = pod["metadata"]["name"], self.namespace
        status = pod.get("status") or {}
        restarts = sum(int(cs.get("restartCount") or 0) for cs in status.get("containerStatuses") or [])
        evidence = [f"{reason} {detail}".strip(), f"restarts {restarts}", *oom_kills(pod)]
        evidence += [f"log: {line}" for line in self.logs(pod)]
        causes = list(CRASH_CAUSES)
        if oom_kills(pod):
            causes.insert(0, "out of memory: the container exceeded its memory limit")
        return Diagnosis(
            "CrashLoopBackOff",
            f"pod/{pod_name}",
            evidence,
            causes,
            [f.format(ns=ns, pod=pod_name) for f in CRASH_FIXES],
        )

    def _pending(self, pod: dict[str, Any]) -> Diagnosis:
        pod_name, ns = pod["metadata"]["name"], self.namespace
        conditions = (pod.get("status") or {}).get("conditions") or []
        unschedulable = [c for c in conditions if c.get("type") == "PodScheduled" and c.get("status") == "False"]
        evidence = [f"{c.get('reason')}: {c.get('message')}" for c in unschedulable] + self.events(pod_name)
        return Diagnosis(
            "Pending: insufficient resources",
            f"pod/{pod_name}",
            evidence or ["pod is Pending"],
            ["insufficient cluster resources", "resource quota exceeded"],
            [
                "check node resources: kubectl top nodes",
                "lower the pod's resource requests or add nodes",
                f"kubectl describe resourcequota -n {ns}",
            ],
        )

    def _not_ready(self, pod: dict[str, Any]) -> Diagnosis:
        pod_name, ns = pod["metadata"]["name"], self.namespace
        events = [e for e in self.events(pod_name) if "probe" in e.lower()] or ["container running, not Ready"]
        return Diagnosis(
            "Readiness probe failing",
            f"pod/{pod_name}",
            events,
            ["readiness probe failures", "the service cannot reach its dependencies"],
            [
                f"kubectl describe pod {pod_name} -n {ns}",
                "make the readiness path answer 200 when ready",
                f"kubectl logs {pod_name} -n {ns} --tail=50",
            ],
        )

    def logs(self, pod: dict[str, Any], lines: int = 20) -> list[str]:
        """The last lines of every container (``[name]`` prefixed when the pod has several)."""
        spec = pod.get("spec") or {}
        names = [
            str(c.get("name")) for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
        ]
        statuses = {
            str(cs.get("name")): cs
            for cs in ((pod.get("status") or {}).get("initContainerStatuses") or [])
            + ((pod.get("status") or {}).get("containerStatuses") or [])
        }
        found: list[str] = []
        for name in names:
            crashed = int((statuses.get(name) or {}).get("restartCount") or 0) > 0
            text = self._container_log(pod["metadata"]["name"], name, lines, previous=crashed)
            if not text and crashed:
                text = self._container_log(pod["metadata"]["name"], name, lines, previous=False)
            prefix = f"[{name}] " if len(names) > 1 else ""
            found.extend(prefix + redact(line) for line in text.splitlines()[-lines:])
        return found

    def _container_log(self, pod_name: str, container: str, lines: int, *, previous: bool) -> str:
        path = f"/api/v1/namespaces/{quote(self.namespace)}/pods/{quote(pod_name)}/log"
        query = [("container", container), ("tailLines", str(lines)), ("previous", "true" if previous else "false")]
        try:
            text = self.api.request("GET", path, query=query, raw=True, missing_ok=True)
        except AdapterError:
            return ""
        return str(text or "")

    def events(self, name: str) -> list[str]:
        try:
            events = self.api.list_objects("v1", "Event", self.namespace, field_selector=f"involvedObject.name={name}")
        except AdapterError:
            return []
        return [f"event {e.get('reason')}: {redact(str(e.get('message', '')))}" for e in events[-10:]]


def oom_kills(pod: dict[str, Any]) -> list[str]:
    """``container app OOMKilled (memory limit 128Mi)`` for each container the kernel killed."""
    limits = {
        str(c.get("name")): ((c.get("resources") or {}).get("limits") or {}).get("memory")
        for c in list((pod.get("spec") or {}).get("containers") or [])
        + list((pod.get("spec") or {}).get("initContainers") or [])
    }
    found = []
    for cs in ((pod.get("status") or {}).get("containerStatuses") or []) + (
        (pod.get("status") or {}).get("initContainerStatuses") or []
    ):
        for state in ((cs.get("lastState") or {}).get("terminated"), (cs.get("state") or {}).get("terminated")):
            if isinstance(state, dict) and state.get("reason") == "OOMKilled":
                limit = limits.get(str(cs.get("name"))) or "none set"
                found.append(f"container {cs.get('name')} OOMKilled (memory limit {limit})")
                break
    return found


def pod_security_rejection(rs_name: str, ns: str, text: str) -> Diagnosis | None:
    """Pods refused by PodSecurity admission, with the policy the namespace enforces."""
    match = re.search(r'violates PodSecurity "([^"]+)"', text)
    if match is None:
        return None
    violations = text.split(match.group(0), 1)[1].lstrip(": ")
    return Diagnosis(
        "Pods rejected by PodSecurity admission",
        f"replicaset/{rs_name}",
        [text],
        [f'the namespace enforces the PodSecurity policy "{match.group(1)}": {violations}'.rstrip(": ")],
        [
            f"kubectl get namespace {ns} --show-labels   # pod-security.kubernetes.io/enforce",
            "set what the policy requires in the pod's securityContext (runAsNonRoot, "
            "allowPrivilegeEscalation: false, capabilities.drop [ALL], seccompProfile RuntimeDefault)",
        ],
    )


def replicaset_findings(replicasets: list[dict[str, Any]], ns: str) -> list[Diagnosis]:
    findings = []
    for rs in replicasets:
        for cond in (rs.get("status") or {}).get("conditions") or []:
            if cond.get("type") != "ReplicaFailure" or cond.get("status") != "True":
                continue
            text = str(cond.get("message", ""))
            rejected = pod_security_rejection(str(rs["metadata"]["name"]), ns, text)
            if rejected is not None:
                findings.append(rejected)
                continue
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
    return findings


def slow_rollout(deployment: dict[str, Any], name: str, ns: str, message: str, events: list[str]) -> Diagnosis:
    conditions = (deployment.get("status") or {}).get("conditions") or []
    return Diagnosis(
        "Slow rollout / deployment timeout",
        f"deployment/{name}",
        [
            message,
            *[
                f"condition {c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message', '')}"
                for c in conditions
            ],
            *events,
        ],
        SLOW_CAUSES,
        [f.format(ns=ns) for f in SLOW_FIXES],
    )


def missing_deployment(name: str, ns: str) -> Diagnosis:
    return Diagnosis(
        "Deployment missing",
        f"deployment/{name}",
        [f"not found in namespace {ns}"],
        ["never deployed to this namespace", "wrong context or namespace"],
        [f"kubectl get deployments -n {ns}", "check target.kubernetes.context / namespace"],
    )


def high_latency(name: str, ns: str, path: str, seconds: float, hpas: list[dict[str, Any]]) -> Diagnosis:
    return Diagnosis(
        "High latency after deployment",
        f"deployment/{name}",
        [
            f"GET {path} took {seconds:.2f}s",
            *[
                f"hpa/{h['metadata']['name']}: {h.get('status', {}).get('currentReplicas')} "
                f"replicas (min {h.get('spec', {}).get('minReplicas')}, max {h.get('spec', {}).get('maxReplicas')})"
                for h in hpas
            ],
        ],
        LATENCY_CAUSES,
        [f.format(ns=ns, name=name) for f in LATENCY_FIXES],
    )
