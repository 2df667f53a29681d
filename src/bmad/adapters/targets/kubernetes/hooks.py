"""Job hooks: Jobs a bundle marks ``bmad.dev/hook: pre-deploy`` or ``post-deploy``.

A pre-deploy hook runs after the bundle's Namespaces and before any other object is applied (it sees
the previous release's ConfigMaps and Secrets, as Helm's pre-upgrade hooks do); a post-deploy hook
runs once every workload has rolled out. Each run replaces the Job of the previous release (a Job's
pod template is immutable, so it is deleted and applied again, as Helm's ``before-hook-creation``
policy does) and is waited for until its ``Complete`` or ``Failed`` condition is True ("Job
termination and cleanup", https://kubernetes.io/docs/concepts/workloads/controllers/job/). Hooks are
not part of the release's inventory nor re-run by a rollback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.progress import Progress

from .client import SYSTEM, KubeApi

_HOOK_PAUSE = sleeper(SpanKind.KUBERNETES, "hooks: waiting for a hook Job")

HOOK_ANNOTATION = "bmad.dev/hook"
PRE_DEPLOY = "pre-deploy"
POST_DEPLOY = "post-deploy"
STAGES = (PRE_DEPLOY, POST_DEPLOY)


def hook_stage(obj: dict[str, Any]) -> str | None:
    """``pre-deploy``/``post-deploy`` for a Job marked as a hook, None for anything else."""
    if obj.get("kind") != "Job":
        return None
    stage = ((obj.get("metadata") or {}).get("annotations") or {}).get(HOOK_ANNOTATION)
    if stage is None:
        return None
    if stage not in STAGES:
        raise AdapterError(
            SYSTEM,
            "reading the bundle's hooks",
            f"job/{obj['metadata'].get('name')}: {HOOK_ANNOTATION}: {stage!r} is not one of {', '.join(STAGES)}",
        )
    return str(stage)


@datatype(frozen=True)
class HookPlan:
    """The bundle without its hooks, and the hook Jobs per stage (in bundle order)."""

    main: list[dict[str, Any]]
    pre: list[dict[str, Any]]
    post: list[dict[str, Any]]


def split_hooks(bundle: list[dict[str, Any]]) -> HookPlan:
    stages = [hook_stage(obj) for obj in bundle]
    return HookPlan(
        [o for o, s in zip(bundle, stages, strict=True) if s is None],
        [o for o, s in zip(bundle, stages, strict=True) if s == PRE_DEPLOY],
        [o for o, s in zip(bundle, stages, strict=True) if s == POST_DEPLOY],
    )


def job_outcome(job: dict[str, Any]) -> tuple[str, str] | None:
    """("Complete"|"Failed", message) once the Job's terminal condition is True, else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            reason = condition.get("reason") or condition["type"]
            return str(condition["type"]), f"{reason}: {condition.get('message') or ''}".rstrip(": ")
    return None


@datatype
class HookRunner:
    """Runs hook Jobs one after the other and waits for each."""

    api: KubeApi
    apply: Callable[[dict[str, Any]], dict[str, Any]]
    poll: float
    sleep: Callable[[float], None] = _HOOK_PAUSE

    def run(self, jobs: list[dict[str, Any]], *, timeout: float, progress: Progress) -> list[str]:
        """Each hook's ``job/name: Complete``; AdapterError naming the first that failed or timed out."""
        done: list[str] = []
        for job in jobs:
            name, namespace = job["metadata"]["name"], job["metadata"].get("namespace")
            stage = hook_stage(job)
            progress.log(f"running {stage} hook job/{name}")
            self._replace(job, name, namespace)
            outcome, message = self._wait(name, namespace, timeout)
            if outcome != "Complete":
                raise AdapterError(
                    SYSTEM,
                    f"running the {stage} hook job/{name}",
                    f"job/{name} {outcome.lower()}: {message}",
                    hint=f"kubectl logs job/{name} -n {namespace}; kubectl describe job/{name} -n {namespace}",
                )
            done.append(f"job/{name}: Complete")
        return done

    def _replace(self, job: dict[str, Any], name: str, namespace: str | None) -> None:
        if self.api.delete("batch/v1", "Job", name, namespace):
            while self.api.get("batch/v1", "Job", name, namespace) is not None:
                self.sleep(self.poll)
        self.apply(job)

    def _wait(self, name: str, namespace: str | None, timeout: float) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            live = self.api.get("batch/v1", "Job", name, namespace)
            outcome = job_outcome(live or {})
            if outcome is not None:
                return outcome
            if time.monotonic() >= deadline:
                return "Timeout", f"not finished after {timeout:g}s"
            self.sleep(self.poll)
