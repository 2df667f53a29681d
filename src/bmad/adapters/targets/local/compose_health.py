"""How a compose release of the local target is doing: per service, container state and healthcheck.

A release is ready when every container of its project runs, every service with a ``healthcheck``
passes it (bmad execs it: Podman's engine-side checks need systemd timers) and the endpoint
answers the health path. :func:`diagnose_release` gives the guide's troubleshooting per service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from bmad.adapters.compose_file import ComposeService
from bmad.adapters.targets.local.diagnose import CRASH_CAUSES, SLOW_CAUSES
from bmad.adapters.targets.local.state import Generation, Replica, replica_from_attrs
from bmad.core.datatypes import datatype
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, waiting
from bmad.ports.target import Diagnosis, HttpProbe

COMPOSE_SERVICE = "bmad.compose.service"


@datatype(frozen=True)
class ServiceHealth:
    """One look at one service's container."""

    service: str
    container: str
    status: str
    exit_code: int | None
    restarts: int
    crashed: bool
    healthy: bool
    problem: str = ""
    logs: tuple[str, ...] = field(default=(), repr=False)
    engine_health: str = ""  # State.Health.Status where the engine runs the healthcheck (Docker)

    @property
    def exited(self) -> bool:
        return self.status in ("exited", "dead", "removed")


def service_of(replica: Replica) -> str:
    """The compose service a container runs (its label; a full inspect or a list summary)."""
    attrs = getattr(replica.container, "attrs", None) or {}
    labels = (attrs.get("Config") or {}).get("Labels") or attrs.get("Labels") or {}
    return str(labels.get(COMPOSE_SERVICE) or replica.name)


def look_at(replica: Replica, services: Mapping[str, ComposeService], *, with_logs: bool = False) -> ServiceHealth:
    """Inspect the container and run its service's healthcheck once."""
    from docker.errors import DockerException, NotFound

    name = service_of(replica)
    try:
        replica.container.reload()
        replica = replica_from_attrs(replica.container.attrs or {}, replica.container) or replica
        name = service_of(replica)
    except NotFound:
        return ServiceHealth(name, replica.name, "removed", None, 0, True, False, "container removed")
    except DockerException as exc:
        return ServiceHealth(name, replica.name, "unknown", None, 0, False, False, redact(str(exc)))
    healthy, problem = replica.running, "" if replica.running else f"container {replica.status}"
    service = services.get(name)
    argv = service.health_argv if service is not None else None
    if replica.running and argv is not None:
        try:
            with waiting(SpanKind.SERVICE, f"healthcheck of {name}"):  # the answer streams until the check ends
                code, output = replica.container.exec_run(argv)
        except DockerException as exc:
            code, output = -1, str(exc).encode()
        healthy = code == 0
        if not healthy:
            problem = f"healthcheck exited {code}: {redact(output.decode(errors='replace')).strip()[-200:]}"
    logs = tuple(_logs(replica)) if with_logs else ()
    state = (replica.container.attrs or {}).get("State") or {}
    engine_health = str((state.get("Health") or {}).get("Status") or "")
    return ServiceHealth(
        name,
        replica.name,
        replica.status,
        replica.exit_code,
        replica.restarts,
        replica.crashed,
        healthy,
        problem,
        logs,
        engine_health,
    )


class HealthWatch:
    """Each container's consecutive healthcheck failures, counted at its healthcheck's interval.

    A container is ``unhealthy`` as an engine would call it: ``retries`` failures in a row after
    ``start_period``, or the engine itself says so. A release waits no longer than that budget.
    """

    def __init__(self, services: Mapping[str, ComposeService]) -> None:
        self._services = services
        self._running_since: dict[str, float] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # container -> (failures in a row, when last counted)

    def unhealthy(self, seen: ServiceHealth, now: float) -> bool:
        """Count this look; True once the service's healthcheck budget is spent."""
        if seen.engine_health == "unhealthy":
            return True
        if seen.status != "running" or seen.healthy:
            self._failures.pop(seen.container, None)
            if seen.status != "running":
                self._running_since.pop(seen.container, None)
            return False
        since = self._running_since.setdefault(seen.container, now)
        service = self._services.get(seen.service)
        if service is None or service.health_argv is None:
            return False
        budget = service.health_budget
        if now - since < budget.start_period:
            return False
        count, last = self._failures.get(seen.container, (0, float("-inf")))
        if now - last >= budget.interval:
            count, last = count + 1, now
            self._failures[seen.container] = (count, last)
        return count >= budget.retries


def diagnose_release(
    gen: Generation, services: Mapping[str, ComposeService], *, endpoint: str | None, probe: HttpProbe, health_path: str
) -> list[Diagnosis]:
    """Findings for one release: crashed or unhealthy services (state, health, logs tail), a silent endpoint."""
    findings: list[Diagnosis] = []
    for replica in sorted(gen.replicas, key=lambda r: r.index):
        seen = look_at(replica, services, with_logs=True)
        if seen.healthy:
            continue
        state = f"state: {seen.status}, exit code {seen.exit_code}, restarts {seen.restarts}"
        findings.append(
            Diagnosis(
                symptom=f"Service {seen.service} {'crashed' if seen.crashed else 'unhealthy'}",
                object=f"container/{seen.container}",
                evidence=[state, f"health: {seen.problem}", *[f"log: {line}" for line in seen.logs]],
                causes=CRASH_CAUSES if seen.crashed else SLOW_CAUSES,
                fixes=[
                    f"read the logs of {seen.container} above; fix the service's configuration or image",
                    "bmad rollback returns to the previous release's compose project",
                ],
            )
        )
    if endpoint is not None:
        answer = probe.get(endpoint + health_path, timeout=5.0)
        if not answer.ok:
            findings.append(
                Diagnosis(
                    symptom="Readiness probe failing",
                    object=f"endpoint/{endpoint}",
                    evidence=[f"GET {health_path} -> {answer.status or answer.error} in {answer.seconds:.2f}s"],
                    causes=SLOW_CAUSES,
                    fixes=[f"make {health_path} answer 200 through the endpoint's service once all services serve"],
                )
            )
    return findings


def _logs(replica: Replica, lines: int = 20) -> list[str]:
    try:
        raw = replica.container.logs(tail=lines)
    except Exception:
        return []
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return [redact(line) for line in text.splitlines()[-lines:]]
