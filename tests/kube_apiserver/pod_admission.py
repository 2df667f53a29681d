"""The admission plugins that look at a new Pod's resources, in the API server's order: Priority and
LimitRanger mutate, then LimitRanger and ResourceQuota validate (kube-apiserver's recommended plugin
order, https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/).

* Priority (plugin/pkg/admission/priority): ``priorityClassName`` must name a PriorityClass
  (403 ``no PriorityClass with name x was found``); its ``value`` becomes ``spec.priority``.
* Requests default to limits when only limits are given (SetDefaults_Pod in pkg/apis/core/v1).
* LimitRanger (plugin/pkg/admission/limitranger, https://kubernetes.io/docs/concepts/policy/limit-range/):
  a ``Container`` item's ``default`` fills missing limits and ``defaultRequest`` missing requests;
  ``min``/``max`` refuse a container outside them (``minimum cpu usage per Container is 100m, but
  request is 50m``, ``maximum cpu usage per Container is 1, but limit is 2``).
* ResourceQuota (plugin/pkg/admission/resourcequota, https://kubernetes.io/docs/concepts/policy/resource-quotas/):
  usage is summed over the namespace's non-terminal pods; a pod that would go over ``spec.hard`` is
  refused with ``exceeded quota: <name>, requested: r=v, used: r=v, limited: r=v``; a quota on a
  compute resource refuses pods that do not state it (``failed quota: <name>: must specify limits.cpu``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from . import quantity
from .errors import forbidden
from .storage import Key, Store

Obj = dict[str, Any]
_COMPUTE = ("cpu", "memory", "ephemeral-storage")


def _containers(spec: Obj) -> list[Obj]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def admit_pod(store: Store, namespace: str, pod: Obj) -> None:
    """Mutate and check a Pod about to be created; raise 403 Forbidden as the plugins do."""
    name = str(pod["metadata"].get("name", ""))
    spec = pod.setdefault("spec", {})
    _priority(store, name, spec)
    for container in _containers(spec):
        resources = container.setdefault("resources", {})
        for resource, amount in (resources.get("limits") or {}).items():
            resources.setdefault("requests", {}).setdefault(resource, amount)
    limit_ranges, _ = store.list_objects("", "limitranges", namespace)
    for limit_range in limit_ranges:
        _limit_range(name, spec, limit_range)
    quotas, _ = store.list_objects("", "resourcequotas", namespace)
    if quotas:
        pods, _ = store.list_objects("", "pods", namespace)
        used = _sum_usage([p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")])
        for quota in quotas:
            _check_quota(name, quota, used, pod_usage(spec))


def _priority(store: Store, name: str, spec: Obj) -> None:
    class_name = spec.get("priorityClassName")
    if not class_name:
        return
    found = store.get(Key("scheduling.k8s.io", "priorityclasses", "", str(class_name)))
    if found is None:
        raise forbidden("", "pods", name, f"no PriorityClass with name {class_name} was found")
    spec["priority"] = int(found.get("value", 0))
    spec.setdefault("preemptionPolicy", found.get("preemptionPolicy", "PreemptLowerPriority"))


def _limit_range(name: str, spec: Obj, limit_range: Obj) -> None:
    problems: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") != "Container":
            continue
        for container in _containers(spec):
            resources = container.setdefault("resources", {})
            limits = resources.setdefault("limits", {})
            requests = resources.setdefault("requests", {})
            for resource, amount in (item.get("default") or {}).items():
                limits.setdefault(resource, amount)
            for resource, amount in (item.get("defaultRequest") or {}).items():
                requests.setdefault(resource, amount)
            problems += _bounds(item, requests, limits)
    if problems:
        why = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise forbidden("", "pods", name, why)


def _bounds(item: Obj, requests: Obj, limits: Obj) -> list[str]:
    problems: list[str] = []
    for resource, least in (item.get("min") or {}).items():
        request = requests.get(resource)
        if request is None:
            problems.append(f"minimum {resource} usage per Container is {least}.  No request is specified")
        elif quantity.parse(request) < quantity.parse(least):
            problems.append(f"minimum {resource} usage per Container is {least}, but request is {request}")
    for resource, most in (item.get("max") or {}).items():
        limit = limits.get(resource)
        if limit is None:
            problems.append(f"maximum {resource} usage per Container is {most}.  No limit is specified")
        elif quantity.parse(limit) > quantity.parse(most):
            problems.append(f"maximum {resource} usage per Container is {most}, but limit is {limit}")
    return problems


def pod_usage(spec: Obj) -> dict[str, Fraction]:
    """What one pod charges against a quota (pkg/quota/v1/evaluator/core/pods.go): ``pods``,
    ``requests.*`` (also as the bare name) and ``limits.*`` summed over its app containers."""
    usage: dict[str, Fraction] = {"pods": Fraction(1), "count/pods": Fraction(1)}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource, amount in (resources.get(kind) or {}).items():
                key = f"{kind}.{resource}"
                usage[key] = usage.get(key, Fraction(0)) + quantity.parse(amount)
                if kind == "requests" and resource in _COMPUTE:
                    usage[resource] = usage.get(resource, Fraction(0)) + quantity.parse(amount)
    return usage


def _sum_usage(pods: list[Obj]) -> dict[str, Fraction]:
    total: dict[str, Fraction] = {}
    for pod in pods:
        for key, amount in pod_usage(pod.get("spec") or {}).items():
            total[key] = total.get(key, Fraction(0)) + amount
    return total


def _check_quota(name: str, quota: Obj, used: dict[str, Fraction], requested: dict[str, Fraction]) -> None:
    quota_name = quota["metadata"]["name"]
    hard = {k: quantity.parse(v) for k, v in ((quota.get("spec") or {}).get("hard") or {}).items()}
    missing = sorted(k for k in hard if k.split(".")[-1] in _COMPUTE and k != "pods" and k not in requested)
    if missing:
        raise forbidden("", "pods", name, f"failed quota: {quota_name}: must specify {','.join(missing)}")
    exceeded = sorted(k for k in hard if k in requested and used.get(k, Fraction(0)) + requested[k] > hard[k])
    if not exceeded:
        return

    def pretty(values: dict[str, Fraction]) -> str:
        return ",".join(f"{k}={quantity.canonical(values.get(k, Fraction(0)), k)}" for k in exceeded)

    why = f"exceeded quota: {quota_name}, requested: {pretty(requested)}, used: {pretty(used)}, limited: {pretty(hard)}"
    raise forbidden("", "pods", name, why)
