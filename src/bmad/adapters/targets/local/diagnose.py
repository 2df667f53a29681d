"""The guide's troubleshooting for the local target: crash loops, failing readiness, high latency.

Each replica of the serving and the candidate generation is looked at once: a crashed replica
shows its exit code, restarts and last log lines; a running one is asked for its health.
"""

from __future__ import annotations

from bmad.adapters.targets.local.state import Replica
from bmad.core.redact import redact
from bmad.ports.target import Diagnosis, HttpProbe

CRASH_CAUSES = [
    "missing environment variables",
    "incorrect secrets",
    "database connection failures",
    "insufficient resources",
]
SLOW_CAUSES = [
    "insufficient resources on the host",
    "image pull failures",
    "readiness (health) probe failures",
    "resource limits too tight",
]
LATENCY_CAUSES = [
    "under-provisioned resources",
    "database query performance",
    "external service latency",
    "insufficient replicas",
]


def diagnose_replica(replica: Replica, *, probe: HttpProbe, health_path: str) -> list[Diagnosis]:
    """The findings for one (inspected) replica; none when it is healthy and fast."""
    if replica.crashed:
        return [_crash_loop(replica)]
    if not replica.running or replica.url is None:
        return []
    answer = probe.get(replica.url + health_path, timeout=5.0)
    if not answer.ok:
        return [
            Diagnosis(
                symptom="Readiness probe failing",
                object=f"container/{replica.name}",
                evidence=[
                    f"GET {health_path} -> {answer.status or answer.error} in {answer.seconds:.2f}s",
                    f"engine health: {replica.health or 'n/a'}",
                    *[f"log: {line}" for line in _logs(replica)],
                ],
                causes=SLOW_CAUSES,
                fixes=[
                    f"make {health_path} answer 200 once the service can serve",
                    "check the service's dependencies (database, caches) from the logs",
                    "raise deploy.rollout_timeout_seconds if start-up is just slow",
                ],
            )
        ]
    if answer.seconds > 0.5:
        return [
            Diagnosis(
                symptom="High latency",
                object=f"container/{replica.name}",
                evidence=[f"GET {health_path} took {answer.seconds:.2f}s", *_stats(replica)],
                causes=LATENCY_CAUSES,
                fixes=[
                    "add replicas (target.local.replicas)",
                    "raise target.local.cpus / memory_limit",
                    "check database and external service latency",
                ],
            )
        ]
    return []


def _crash_loop(replica: Replica) -> Diagnosis:
    return Diagnosis(
        symptom="CrashLoopBackOff",
        object=f"container/{replica.name}",
        evidence=[
            f"status {replica.status}, exit code {replica.exit_code}, restarts {replica.restarts}",
            *[f"log: {line}" for line in _logs(replica)],
        ],
        causes=CRASH_CAUSES,
        fixes=[
            "read the log lines above for the error",
            "check the environment in bmad.yaml (environments.<env>.target.local.env)",
            "check that every secret_env reference resolves",
            "raise target.local.memory_limit / cpus if the process was killed",
        ],
    )


def _logs(replica: Replica, lines: int = 20) -> list[str]:
    try:
        raw = replica.container.logs(tail=lines)
    except Exception:
        return []
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return [redact(line) for line in text.splitlines()[-lines:]]


def _stats(replica: Replica) -> list[str]:
    try:
        stats = replica.container.stats(stream=False)
    except Exception:
        return []
    memory = (stats.get("memory_stats") or {}).get("usage")
    return [f"memory usage: {memory} bytes"] if memory else []
