"""Rollout status per workload kind, read as ``kubectl rollout status``'s viewers read them,
and the states of pods (crash loops, image pulls) the early stop looks at."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Viewer = Callable[[dict[str, Any]], tuple[bool, bool, str]]

PULL_FAILURES = ("ImagePullBackOff", "ErrImagePull")
POD_FAILURES = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
)


def _observed(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return int((obj.get("metadata") or {}).get("generation") or 0) <= int(status.get("observedGeneration") or 0)


def rollout_status(deployment: dict[str, Any]) -> tuple[bool, bool, str]:
    """(done, failed, message) exactly as ``kubectl rollout status`` reads a Deployment."""
    name = deployment.get("metadata", {}).get("name", "?")
    spec, status = deployment.get("spec", {}), deployment.get("status") or {}
    if not _observed(deployment):
        return False, False, "Waiting for deployment spec update to be observed..."
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return False, True, f'deployment "{name}" exceeded its progress deadline'
    desired = spec.get("replicas", 1)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if desired is not None and updated < int(desired):
        return False, False, f"{prefix}{updated} out of {desired} new replicas have been updated..."
    if total > updated:
        return False, False, f"{prefix}{total - updated} old replicas are pending termination..."
    if available < updated:
        return False, False, f"{prefix}{available} of {updated} updated replicas are available..."
    return True, False, f'deployment "{name}" successfully rolled out'


def statefulset_status(sts: dict[str, Any]) -> tuple[bool, bool, str]:
    """kubectl's StatefulSet viewer: ready replicas, the partition, then update == current revision."""
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return True, False, "rollout status is only available for RollingUpdate strategy type"
    if not int(status.get("observedGeneration") or 0) or not _observed(sts):
        return False, False, "Waiting for statefulset spec update to be observed..."
    replicas = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if ready < replicas:
        return False, False, f"Waiting for {replicas - ready} pods to be ready..."
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    updated = int(status.get("updatedReplicas") or 0)
    if partition is not None:
        if updated < replicas - int(partition):
            return (
                False,
                False,
                f"Waiting for partitioned roll out to finish: {updated} out of {replicas - int(partition)} "
                "new pods have been updated...",
            )
        return True, False, f"partitioned roll out complete: {updated} new pods have been updated..."
    update_revision = status.get("updateRevision")
    if update_revision != status.get("currentRevision"):
        return (
            False,
            False,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        )
    current = int(status.get("currentReplicas") or 0)
    return True, False, f"statefulset rolling update complete {current} pods at revision {update_revision}..."


def daemonset_status(ds: dict[str, Any]) -> tuple[bool, bool, str]:
    """kubectl's DaemonSet viewer: every scheduled node runs an updated, available pod."""
    name = (ds.get("metadata") or {}).get("name", "?")
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return True, False, "rollout status is only available for RollingUpdate strategy type"
    if not _observed(ds):
        return False, False, "Waiting for daemon set spec update to be observed..."
    status = ds.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    prefix = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return False, False, f"{prefix}{updated} out of {desired} new pods have been updated..."
    if available < desired:
        return False, False, f"{prefix}{available} of {desired} updated pods are available..."
    return True, False, f'daemon set "{name}" successfully rolled out'


VIEWERS: dict[str, Viewer] = {
    "Deployment": rollout_status,
    "StatefulSet": statefulset_status,
    "DaemonSet": daemonset_status,
}


def counts(workload: dict[str, Any]) -> tuple[int, int, int, int]:
    """(desired, updated, ready, available) replicas of any workload kind."""
    status = workload.get("status") or {}
    if workload.get("kind") == "DaemonSet":
        return (
            int(status.get("desiredNumberScheduled") or 0),
            int(status.get("updatedNumberScheduled") or 0),
            int(status.get("numberReady") or 0),
            int(status.get("numberAvailable") or 0),
        )
    desired = int((workload.get("spec") or {}).get("replicas", 1) or 0)
    ready = int(status.get("readyReplicas") or 0)
    return (
        desired,
        int(status.get("updatedReplicas") or 0),
        ready,
        int(status.get("availableReplicas", ready) or 0),
    )


def container_statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])


def pod_problem(pod: dict[str, Any]) -> tuple[str, str] | None:
    """(reason, message) of a pod that is failing, or None."""
    status = pod.get("status") or {}
    for cs in container_statuses(pod):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in POD_FAILURES:
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


def pod_restarts(pod: dict[str, Any]) -> int:
    return sum(int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or [])
