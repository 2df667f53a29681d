"""The Job controller ("Jobs", https://kubernetes.io/docs/concepts/workloads/controllers/job/;
pkg/controller/job/job_controller.go), for non-indexed Jobs:

* keeps ``min(parallelism, completions - succeeded)`` pods running from the template (defaults
  1 and 1; the template carries the ``batch.kubernetes.io/job-name`` and ``controller-uid`` labels
  that defaulting adds, see admission.py);
* counts ``active``, ``ready``, ``succeeded`` and ``failed`` pods in the Job's status;
* ``succeeded >= completions``: conditions ``SuccessCriteriaMet`` and ``Complete`` (status True),
  ``completionTime``, Event ``Completed``;
* ``failed > backoffLimit`` (default 6): ``FailureTarget`` and ``Failed`` with reason
  ``BackoffLimitExceeded`` ("Job has reached the specified backoff limit"), its active pods
  deleted, Event ``BackoffLimitExceeded``.
A failed pod is replaced at once (the controller's 10 s doubling back-off is not simulated).
"""

from __future__ import annotations

from typing import Any

from ..apply import now
from .base import Controller, owned_by
from .replicasets import is_ready, pod_from_template

Obj = dict[str, Any]
DEFAULT_BACKOFF_LIMIT = 6


def _finished(job: Obj) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def _condition(kind: str, reason: str = "", message: str = "") -> Obj:
    stamp = now()
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
    }


class JobController(Controller):
    def reconcile(self) -> None:
        pods = self.list("", "pods")
        for job in self.list("batch", "jobs"):
            if job["metadata"].get("deletionTimestamp") or (job.get("spec") or {}).get("suspend"):
                continue
            mine = [p for p in pods if owned_by(p, job)]
            phases = [(p.get("status") or {}).get("phase") for p in mine]
            active = [p for p, ph in zip(mine, phases, strict=True) if ph not in ("Succeeded", "Failed")]
            status = dict(job.get("status") or {})
            status.update(
                {
                    "active": len(active),
                    "ready": sum(1 for p in active if is_ready(p)),
                    "succeeded": phases.count("Succeeded"),
                    "failed": phases.count("Failed"),
                    "startTime": status.get("startTime") or now(),
                }
            )
            if not _finished(job):
                self._progress(job, status, active)
            self.set_status(job, status)

    def _progress(self, job: Obj, status: Obj, active: list[Obj]) -> None:
        spec = job.get("spec") or {}
        completions = int(spec.get("completions", 1))
        if status["succeeded"] >= completions:
            status["conditions"] = [
                _condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
                _condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
            ]
            status["completionTime"] = now()
            self.event(job, "Normal", "Completed", "Job completed", "job-controller")
            return
        if status["failed"] > int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)):
            message = "Job has reached the specified backoff limit"
            status["conditions"] = [
                _condition("FailureTarget", "BackoffLimitExceeded", message),
                _condition("Failed", "BackoffLimitExceeded", message),
            ]
            for pod in active:
                self.delete(pod)
            status["active"] = 0
            self.event(job, "Warning", "BackoffLimitExceeded", message, "job-controller")
            return
        wanted = min(int(spec.get("parallelism", 1)), completions - status["succeeded"])
        for _ in range(wanted - len(active)):
            pod = pod_from_template(job, spec.get("template") or {})
            created = self.create("", "pods", pod, owner=job)
            if created is None:
                break
            self.event(
                job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", "job-controller"
            )
