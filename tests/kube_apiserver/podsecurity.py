"""Pod Security admission by namespace labels (``pod-security.kubernetes.io/enforce|warn``).

Follows "Pod Security Admission" and "Pod Security Standards"
(https://kubernetes.io/docs/concepts/security/pod-security-admission/,
https://kubernetes.io/docs/concepts/security/pod-security-standards/): ``enforce`` rejects a pod
with ``violates PodSecurity "<level>:latest": <check> (<detail>), ...``; for workload resources
(and for ``warn``) the same text comes back as a ``Warning`` starting ``would violate PodSecurity``.
Checks as in k8s.io/pod-security-admission/policy (check_*.go), the subset bmad's manifests touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
LEVELS = ("privileged", "baseline", "restricted")
_BASELINE_CAPS = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def _containers(spec: Obj) -> list[Obj]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def _sc(container: Obj) -> Obj:
    return container.get("securityContext") or {}


def _names(containers: list[Obj]) -> str:
    quoted = ", ".join(f'"{c.get("name", "")}"' for c in containers)
    return f"container {quoted}" if len(containers) == 1 else f"containers {quoted}"


def _privileged(spec: Obj) -> str:
    bad = [c for c in _containers(spec) if _sc(c).get("privileged")]
    return f"privileged ({_names(bad)} must not set securityContext.privileged=true)" if bad else ""


def _host_namespaces(spec: Obj) -> str:
    used = [f"{f}=true" for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f)]
    return f"host namespaces ({', '.join(used)})" if used else ""


def _host_path(spec: Obj) -> str:
    bad = [v.get("name", "") for v in spec.get("volumes") or [] if "hostPath" in v]
    return (
        "hostPath volumes (volume" + ("s " if len(bad) > 1 else " ") + ", ".join(f'"{n}"' for n in bad) + ")"
        if bad
        else ""
    )


def _capabilities_baseline(spec: Obj) -> str:
    added = sorted(
        {cap for c in _containers(spec) for cap in (_sc(c).get("capabilities") or {}).get("add") or []} - _BASELINE_CAPS
    )
    return f"non-default capabilities (capabilities {', '.join(added)})" if added else ""


def _allow_escalation(spec: Obj) -> str:
    bad = [c for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    detail = "must set securityContext.allowPrivilegeEscalation=false"
    return f"allowPrivilegeEscalation != false ({_names(bad)} {detail})" if bad else ""


def _drop_all(spec: Obj) -> str:
    bad = [c for c in _containers(spec) if "ALL" not in ((_sc(c).get("capabilities") or {}).get("drop") or [])]
    detail = 'must set securityContext.capabilities.drop=["ALL"]'
    return f"unrestricted capabilities ({_names(bad)} {detail})" if bad else ""


def _run_as_non_root(spec: Obj) -> str:
    if (spec.get("securityContext") or {}).get("runAsNonRoot") is True:
        bad = [c for c in _containers(spec) if _sc(c).get("runAsNonRoot") is False]
    else:
        bad = [c for c in _containers(spec) if _sc(c).get("runAsNonRoot") is not True]
    detail = "must set securityContext.runAsNonRoot=true"
    return f"runAsNonRoot != true (pod or {_names(bad)} {detail})" if bad else ""


def _seccomp(spec: Obj) -> str:
    allowed = ("RuntimeDefault", "Localhost")
    if ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type") in allowed:
        return ""
    bad = [c for c in _containers(spec) if (_sc(c).get("seccompProfile") or {}).get("type") not in allowed]
    detail = 'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
    return f"seccompProfile (pod or {_names(bad)} {detail})" if bad else ""


_CHECKS: dict[str, tuple[Callable[[Obj], str], ...]] = {
    "privileged": (),
    "baseline": (_privileged, _host_namespaces, _host_path, _capabilities_baseline),
    "restricted": (
        _privileged,
        _host_namespaces,
        _host_path,
        _capabilities_baseline,
        _allow_escalation,
        _drop_all,
        _run_as_non_root,
        _seccomp,
    ),
}


def violations(level: str, pod_spec: Obj) -> list[str]:
    return [text for check in _CHECKS.get(level, ()) if (text := check(pod_spec))]


def describe(level: str, found: list[str], would: bool = False) -> str:
    verb = "would violate" if would else "violates"
    return f'{verb} PodSecurity "{level}:latest": ' + ", ".join(found)


def pod_spec_of(kind: str, obj: Obj) -> Obj | None:
    """The pod spec a pod or a workload (via its template; CronJob via its job template) carries."""
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return ((((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")) or None
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        return (spec.get("template") or {}).get("spec") or None
    return None


def level(namespace: Obj | None, mode: str) -> str:
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    value = labels.get(f"pod-security.kubernetes.io/{mode}", "privileged")
    return value if value in LEVELS else "privileged"
