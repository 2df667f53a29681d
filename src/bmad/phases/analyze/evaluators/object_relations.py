"""Object-scope evaluators about relations: a Service, Ingress, HPA, PDB or NetworkPolicy and what it
selects or targets elsewhere in the bundle.

Signature: ``fn(obj, ctx, params)``.
"""

from __future__ import annotations

from typing import Any

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import ports_of, replica_count, resources_of
from bmad.phases.analyze.evaluators.registry import FieldPath, Params, register
from bmad.phases.analyze.manifests import ManifestObject, describe_selector, dig
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Skip, Verdict


@register("selector_matches_template", Scope.OBJECT)
def selector_matches_template(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    from bmad.phases.analyze.manifests import selector_matches

    selector = obj.spec().get("selector")
    if not isinstance(selector, dict):
        return Fail("spec.selector is missing", ("spec",))
    if not selector_matches(selector, obj.pod_labels):
        return Fail("spec.selector does not match the pod template labels", ("spec", "selector"))
    return None


@register("service_targets_pods", Scope.OBJECT)
def service_targets_pods(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.spec()
    selector = spec.get("selector")
    if spec.get("type") == "ExternalName":
        return NA("ExternalName service")
    if not selector:
        return NA("no selector: endpoints are managed outside the bundle")
    if not ctx.bundle.pods_selected(selector, obj.namespace):
        where = (
            f"selector {describe_selector(selector)} matches no pod template in namespace {obj.namespace or '(none)'}"
        )
        return _maybe_operator_pods(ctx, obj, where) or Fail(where, ("spec", "selector"))
    return None


def _maybe_operator_pods(ctx: EvalContext, obj: ManifestObject, where: str) -> Skip | None:
    """Unknown rather than failed when custom resources in the namespace may have an operator create the pods."""
    owners = ctx.bundle.custom_resources(obj.namespace)
    if not owners:
        return None
    named = ", ".join(f"{o.kind}/{o.name}" for o in owners[:3]) + (" ..." if len(owners) > 3 else "")
    return Skip(f"{where}; the bundle's custom resources ({named}) may have an operator create those pods")


@register("service_target_port", Scope.OBJECT)
def service_target_port(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    selector = obj.spec().get("selector")
    if not selector:
        return NA("no selector")
    pods = ctx.bundle.pods_selected(selector, obj.namespace)
    if not pods:
        return NA("selects no pods (reported by the selector check)")
    names: set[str] = set()
    numbers: set[int] = set()
    for workload in pods:
        for c, _ in workload.containers(init=False):
            for port in ports_of(c):
                if port.get("name"):
                    names.add(str(port["name"]))
                if isinstance(port.get("containerPort"), int):
                    numbers.add(port["containerPort"])
    for index, port in enumerate(obj.spec().get("ports") or []):
        if not isinstance(port, dict):
            continue
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str) and not target.isdigit() and target not in names:
            return Fail(f"targetPort {target!r} is not a port name of the selected pods", ("spec", "ports", index))
        if isinstance(target, int) and numbers and target not in numbers:
            return Fail(f"targetPort {target} is not a containerPort of the selected pods", ("spec", "ports", index))
    return None


def _ingress_backends(obj: ManifestObject) -> list[tuple[dict[str, Any], FieldPath]]:
    spec = obj.spec()
    found: list[tuple[dict[str, Any], FieldPath]] = []
    default = spec.get("defaultBackend")
    if isinstance(default, dict):
        found.append((default, ("spec", "defaultBackend")))
    for r_index, rule in enumerate(spec.get("rules") or []):
        paths = dig(rule, ("http", "paths")) or []
        for p_index, item in enumerate(paths):
            if isinstance(item, dict) and isinstance(item.get("backend"), dict):
                found.append((item["backend"], ("spec", "rules", r_index, "http", "paths", p_index, "backend")))
    return found


@register("ingress_backend", Scope.OBJECT)
def ingress_backend(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    backends = _ingress_backends(obj)
    if not backends:
        return Fail("ingress has no backends", ("spec",))
    for backend, path in backends:
        service = backend.get("service")
        if not isinstance(service, dict):
            continue  # resource backends are out of scope
        svc = ctx.bundle.find("Service", str(service.get("name")), obj.namespace)
        if svc is None:
            return Fail(f"backend Service {service.get('name')} is not in the bundle", path)
        if p.get("port"):
            port = service.get("port") or {}
            ports = [pt for pt in svc.spec().get("ports") or [] if isinstance(pt, dict)]
            number, name = port.get("number"), port.get("name")
            if number is not None and number not in {pt.get("port") for pt in ports}:
                return Fail(f"Service {svc.name} has no port {number}", path)
            if name is not None and name not in {pt.get("name") for pt in ports}:
                return Fail(f"Service {svc.name} has no port named {name}", path)
    return None


@register("hpa_target", Scope.OBJECT)
def hpa_target(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    ref = obj.spec().get("scaleTargetRef")
    if not isinstance(ref, dict):
        return Fail("spec.scaleTargetRef is missing", ("spec",))
    if ctx.bundle.find(str(ref.get("kind")), str(ref.get("name")), obj.namespace) is None:
        return Fail(
            f"scale target {ref.get('kind')}/{ref.get('name')} is not in the bundle", ("spec", "scaleTargetRef")
        )
    return None


@register("selects_pods", Scope.OBJECT)
def selects_pods(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_name = p["field"]
    selector = obj.spec().get(field_name)
    if selector is None:
        return Fail(f"spec.{field_name} is missing", ("spec",))
    if not ctx.bundle.pods_selected(selector, obj.namespace):
        where = f"spec.{field_name} matches no pod template in the bundle"
        return _maybe_operator_pods(ctx, obj, where) or Fail(where, ("spec", field_name))
    return None


@register("statefulset_service", Scope.OBJECT)
def statefulset_service(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    name = obj.spec().get("serviceName")
    if not name:
        return Fail("spec.serviceName is not set", ("spec",))
    svc = ctx.bundle.find("Service", str(name), obj.namespace)
    if svc is None:
        return Fail(f"Service {name} is not in the bundle", ("spec", "serviceName"))
    if svc.spec().get("clusterIP") != "None":
        return Fail(f"Service {name} is not headless (clusterIP: None)", ("spec", "serviceName"))
    return None


@register("service_scraped", Scope.OBJECT)
def service_scraped(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if str(obj.annotations.get("prometheus.io/scrape", "")).lower() == "true":
        return None
    from bmad.phases.analyze.manifests import selector_matches

    for monitor in ctx.bundle.of_kind("ServiceMonitor"):
        if selector_matches(monitor.spec().get("selector"), obj.labels):
            return None
    pods = ctx.bundle.pods_selected(obj.spec().get("selector"), obj.namespace) if obj.spec().get("selector") else []
    for workload in pods:
        if str(workload.pod_annotations.get("prometheus.io/scrape", "")).lower() == "true":
            return None
    return Fail("no ServiceMonitor selects this Service and no prometheus.io/scrape annotation", ("metadata",))


# ================================================================== workload relations
@register("has_hpa", Scope.OBJECT)
def has_hpa(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not ctx.bundle.hpas_targeting(obj):
        return Fail(f"no HorizontalPodAutoscaler targets {obj.kind}/{obj.name}", ("spec",))
    return None


def _hpa_verdict(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.spec()
    mode = p["mode"]
    low = spec.get("minReplicas", 1)
    high = spec.get("maxReplicas")
    if mode == "min" and (not isinstance(low, int) or low < ctx.settings.min_replicas):
        return Fail(f"minReplicas is {low}; analyze.min_replicas is {ctx.settings.min_replicas}", ("spec",))
    if mode == "max" and (not isinstance(high, int) or not isinstance(low, int) or high <= low):
        return Fail(f"maxReplicas ({high}) is not above minReplicas ({low}): it cannot scale", ("spec",))
    if mode == "no_replicas":
        ref = spec.get("scaleTargetRef") or {}
        target = ctx.bundle.find(str(ref.get("kind")), str(ref.get("name")), obj.namespace)
        if target is None:
            return NA("the scale target is not in the bundle")
        if target.replicas is not None:
            return Fail(
                f"{target.ref} sets replicas; every apply resets what the HPA chose", ("spec", "scaleTargetRef")
            )
    if mode == "requests":
        ref = spec.get("scaleTargetRef") or {}
        target = ctx.bundle.find(str(ref.get("kind")), str(ref.get("name")), obj.namespace)
        if target is None:
            return NA("the scale target is not in the bundle")
        resources = {
            dig(m, ("resource", "name"))
            for m in spec.get("metrics") or []
            if isinstance(m, dict) and m.get("type") == "Resource"
        }
        if not resources and spec.get("targetCPUUtilizationPercentage") is not None:
            resources = {"cpu"}
        if not resources:
            return NA("scales on no resource metric")
        for c, _path in target.containers(init=False):
            for resource in resources:
                if resource not in resources_of(c, "requests"):
                    return Fail(
                        f"{target.ref} container {c.get('name')} has no {resource} request for the HPA to use",
                        ("spec", "metrics"),
                    )
    return None


@register("hpa", Scope.OBJECT)
def hpa(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    return _hpa_verdict(obj, ctx, p)


@register("min_replicas", Scope.OBJECT)
def min_replicas(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if ctx.bundle.hpas_targeting(obj):
        count = replica_count(obj, ctx)
        if count < ctx.settings.min_replicas:
            return Fail(f"HPA minReplicas is {count}; analyze.min_replicas is {ctx.settings.min_replicas}", ("spec",))
        return None
    count = obj.replicas if obj.replicas is not None else 1
    if count < ctx.settings.min_replicas:
        return Fail(f"replicas is {count}; analyze.min_replicas is {ctx.settings.min_replicas}", ("spec", "replicas"))
    return None


@register("has_pdb", Scope.OBJECT)
def has_pdb(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if replica_count(obj, ctx) < 2:
        return NA("runs a single replica")
    if not ctx.bundle.pdbs_covering(obj):
        return Fail("no PodDisruptionBudget covers its pods", ("spec",))
    return None


@register("pdb", Scope.OBJECT)
def pdb(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.spec()
    mode = p["mode"]
    if mode == "policy":
        if "minAvailable" not in spec and "maxUnavailable" not in spec:
            return Fail("sets neither minAvailable nor maxUnavailable", ("spec",))
        return None
    workloads = ctx.bundle.pods_selected(spec.get("selector"), obj.namespace)
    if not workloads:
        return NA("selects no workload of the bundle")
    replicas = replica_count(workloads[0], ctx)
    min_available = spec.get("minAvailable")
    if mode == "allows_disruption":
        if spec.get("maxUnavailable") in (0, "0", "0%"):
            return Fail("maxUnavailable is 0: nodes can never be drained", ("spec", "maxUnavailable"))
        if min_available in ("100%",) or (isinstance(min_available, int) and min_available >= replicas):
            return Fail(f"minAvailable {min_available} with {replicas} replicas blocks every eviction", ("spec",))
        return None
    if mode == "below_hpa_min":
        if not ctx.bundle.hpas_targeting(workloads[0]):
            return NA("no HPA targets the selected workload")
        if not isinstance(min_available, int):
            return NA("minAvailable is not an absolute number")
        if min_available >= replicas:
            return Fail(f"minAvailable {min_available} is not below HPA minReplicas {replicas}", ("spec",))
        return None
    raise ValueError(mode)


@register("network_policy_covers", Scope.OBJECT)
def network_policy_covers(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if obj.pod_spec is None:
        return NA("no pod template")
    if not ctx.bundle.network_policies_covering(obj, p["type"]):
        return Fail(f"no NetworkPolicy selects its pods for {p['type']}", ("metadata",))
    return None
