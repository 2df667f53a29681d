"""The rollback plan, generated from the current-state snapshot before anything changes.

What would be rolled back, to which image digest or revision, the exact commands, and how
long it is expected to take (the median of earlier DEPLOY rollbacks/rollouts of this service
when the ledger has some, else ``deploy.rollback_timeout_seconds``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any


def _digest_of(image: str | None) -> str | None:
    if image and "@" in image:
        return image.split("@", 1)[1]
    return None


def _median(durations: Sequence[float]) -> float:
    import statistics  # ~5 ms with fractions and decimal; only a service with earlier deployments needs it

    return round(statistics.median(durations), 1)


def build_rollback_plan(
    snapshot: Mapping[str, Any],
    *,
    service: str,
    environment: str,
    release_version: str,
    timeout_seconds: float,
    manifests: str | None = None,
    past_durations: Sequence[float] = (),
) -> dict[str, Any]:
    kind = str(snapshot.get("kind") or "unknown")
    exists = bool(snapshot.get("exists"))
    bmad_cmd = f"bmad rollback --env {shlex.quote(environment)}"
    expected = _median(past_durations) if past_durations else float(timeout_seconds)
    basis = (
        f"median of {len(past_durations)} earlier deployment(s)"
        if past_durations
        else "deploy.rollback_timeout_seconds (no earlier deployment recorded)"
    )
    plan: dict[str, Any] = {
        "service": service,
        "environment": environment,
        "release": release_version,
        "target": kind,
        "first_deployment": not exists,
        "expected_seconds": expected,
        "expected_basis": basis,
        "commands": [bmad_cmd],
    }
    if not exists:
        _to_absent(plan, snapshot, kind, manifests)
    elif kind == "kubernetes":
        _to_kubernetes_revision(plan, snapshot, service, timeout_seconds)
    else:
        _to_local_containers(plan, snapshot, service)
    return plan


def _to_absent(plan: dict[str, Any], snapshot: Mapping[str, Any], kind: str, manifests: str | None) -> None:
    service, environment = plan["service"], plan["environment"]
    plan["what"] = f"{service} is not running in {environment} yet: rolling back removes the new release"
    plan["to"] = {"state": "absent"}
    if kind == "kubernetes":
        ns = snapshot.get("namespace")
        folder = manifests or "k8s/"
        plan["commands"].append(f"kubectl delete -f {shlex.quote(folder)} -n {shlex.quote(str(ns))}")
    plan["verify"] = ["the service's objects/containers are gone"]


def _to_kubernetes_revision(
    plan: dict[str, Any], snapshot: Mapping[str, Any], service: str, timeout_seconds: float
) -> None:
    ns = str(snapshot.get("namespace") or "default")
    deployment = str(snapshot.get("deployment") or service)
    images = [str(i) for i in snapshot.get("images") or []]
    revision = snapshot.get("revision")
    plan["what"] = f"deployment/{deployment} in namespace {ns}"
    plan["to"] = {
        "revision": revision,
        "release": snapshot.get("release"),
        "images": images,
        "digest": next((d for d in (_digest_of(i) for i in images) if d), None),
        "replicas": snapshot.get("replicas"),
    }
    native = f"kubectl rollout undo deployment/{shlex.quote(deployment)} -n {shlex.quote(ns)}"
    if revision:
        native += f" --to-revision={shlex.quote(str(revision))}"
    plan["commands"] += [
        native,
        f"kubectl rollout status deployment/{shlex.quote(deployment)} -n {shlex.quote(ns)} "
        f"--timeout={int(timeout_seconds)}s",
    ]
    plan["verify"] = [
        f"kubectl get deployment/{deployment} -n {ns} -o jsonpath='{{.spec.template.spec.containers[*].image}}'"
        f" shows {', '.join(images) or 'the snapshot images'}",
        "the health endpoint answers 200",
    ]


def _to_local_containers(plan: dict[str, Any], snapshot: Mapping[str, Any], service: str) -> None:
    image = snapshot.get("image")
    digest = snapshot.get("digest") or _digest_of(str(image) if image else None)
    plan["what"] = f"{snapshot.get('replicas', '?')} container(s) of {service} on the local engine"
    plan["to"] = {
        "release": snapshot.get("release"),
        "image": image,
        "digest": digest,
        "generation": snapshot.get("generation"),
        "replicas": snapshot.get("replicas"),
        "containers": list(snapshot.get("containers") or []),
    }
    plan["verify"] = [
        f"containers run {image}@{digest}" if digest and image else "containers run the snapshot image",
        "the health endpoint answers 200 on every replica",
    ]


def describe_rollback_target(to: Any) -> str:
    """The plan's ``to`` in words: "nothing (the new release is removed)", "revision 3: hello:1.2@sha256:..."."""
    if not isinstance(to, Mapping):
        return str(to)
    if to.get("state") == "absent":
        return "nothing (the new release is removed)"
    images = [str(i) for i in to.get("images") or []] or ([str(to["image"])] if to.get("image") else [])
    digest = to.get("digest")
    shown = [i if (not digest or "@" in i) else f"{i}@{digest}" for i in images]
    parts = [f"revision {to['revision']}"] if to.get("revision") is not None else []
    if to.get("release"):
        parts.append(f"release {to['release']}")
    head = ", ".join(parts) or "the previous release"
    tail = ", ".join(shown) or (str(digest) if digest else "")
    replicas = f" ({to['replicas']} replica(s))" if to.get("replicas") is not None else ""
    return f"{head}: {tail}{replicas}" if tail else head + replicas


def render_plan_markdown(plan: Mapping[str, Any]) -> str:
    lines = [
        f"# Rollback plan: {plan.get('service')} ({plan.get('environment')})",
        "",
        f"- Release being deployed: `{plan.get('release')}`",
        f"- Target: {plan.get('target')}",
        f"- What: {plan.get('what')}",
        f"- Roll back to: {describe_rollback_target(plan.get('to'))}",
        f"- Expected time: {plan.get('expected_seconds')} s ({plan.get('expected_basis')})",
        "",
        "## Commands",
        "",
        "```sh",
        *[str(c) for c in plan.get("commands", [])],
        "```",
        "",
        "## Verify",
        "",
        *[f"- {v}" for v in plan.get("verify", [])],
        "",
    ]
    return "\n".join(lines)
