"""The local target's Compose mode: each release is a compose project of several services.

The same guarantees as the replicas mode, with a compose project where that mode has a
generation of replicas: the new release starts as ``<project>-g<N>`` on the free port slot beside
the serving one; :meth:`ComposeTarget.cut_over` stops the old project only once the new one serves,
and *keeps* it (images pinned by digest), so a rollback restarts it and only then removes the failed
project. The state is read back from the containers' labels (:mod:`.state`), as in replicas mode.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from bmad.adapters.compose_file import ComposeService
from bmad.adapters.targets.local.compose_health import HealthWatch, diagnose_release, look_at
from bmad.adapters.targets.local.compose_release import ComposeReleases, ReleaseSlot
from bmad.adapters.targets.local.state import SYSTEM, EngineState, Generation, generation_for, release_labels
from bmad.adapters.targets.local.target import LocalTarget
from bmad.config.base import config_json
from bmad.config.deploy import LocalTargetConfig
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.progress import Progress
from bmad.ports.target import DeploySpec, Diagnosis, HttpProbe, RolloutState

_SERVICES_PAUSE = sleeper(SpanKind.SERVICE, "rollout: waiting for the services")


class ComposeTarget(LocalTarget):
    """:class:`LocalTarget` with a compose project per release (``target.local.compose``)."""

    def __init__(
        self,
        config: LocalTargetConfig,
        *,
        compose_file: Path,
        probe: HttpProbe,
        health_path: str = "/health",
        client: Any = None,
        poll_interval: float = 0.2,
        rollback_timeout: float = 120.0,
    ) -> None:
        super().__init__(
            config,
            probe=probe,
            health_path=health_path,
            client=client,
            poll_interval=poll_interval,
            rollback_timeout=rollback_timeout,
        )
        assert config.compose is not None
        self.poll_interval = poll_interval
        self.releases = ComposeReleases(
            config.compose, compose_file=compose_file, docker_host=config.docker_host, env=config.env
        )

    # -- apply ----------------------------------------------------------------------------------
    def apply(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        self.releases.load(spec.service)  # one clear error at file:line before anything changes
        state = self.containers.read_state(spec.service, spec.environment)
        cfg_hash = self._config_hash(spec)
        active = state.active
        if (
            active is not None
            and (active.release, active.digest, active.config) == (spec.version, spec.digest, cfg_hash)
            and all(r.running for r in active.replicas)
        ):
            return self._adopt(spec, state, active, progress)
        leftovers = [g for g in state.generations if g.role in ("candidate", "stale")]
        if active is not None and (active.release, active.digest) == (spec.version, spec.digest):
            leftovers.append(active)  # an incomplete start of this very release
        removed = self._remove_projects(spec.service, spec.environment, leftovers)
        state = self.containers.read_state(spec.service, spec.environment)
        keep = state.active if state.active is not None else state.previous
        slot = 1 - keep.slot if keep is not None else 0
        removed += self._remove_projects(
            spec.service, spec.environment, [g for g in state.generations if g.slot == slot and g is not keep]
        )
        number = max((g.number for g in state.generations), default=0) + 1
        self.containers.ensure_image(spec)
        labels = release_labels(spec, generation=number, slot=slot, replica=0, config=cfg_hash)
        started = self.releases.start(
            spec, ReleaseSlot(number, slot, cfg_hash), client=self.containers.client, labels=labels, progress=progress
        )
        return {
            "adopted": False,
            "generation": number,
            "slot": slot,
            "image": spec.pinned_image,
            "project": self.releases.project_name(spec.service, spec.environment, number),
            "containers": started,
            "url": self.releases.endpoint_url(slot),
            "removed_leftovers": removed,
            "replaces": state.active.number if state.active is not None else None,
        }

    def _config_hash(self, spec: DeploySpec) -> str:
        settings = self.config.compose
        assert settings is not None
        data = {
            "env": {**self.config.env, **spec.env},
            "secret_env": sorted(spec.secret_env),
            "compose": config_json(settings),
            "file": hashlib.sha256(self.releases.compose_file.read_bytes()).hexdigest(),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    def _remove_projects(self, service: str, environment: str, generations: list[Generation]) -> list[str]:
        removed: list[str] = []
        for gen in generations:
            project = self.releases.project_name(service, environment, gen.number)
            removed += self.releases.remove(project, client=self.containers.client)
        return removed

    # -- roll out and cut over ------------------------------------------------------------------
    def wait_ready(
        self, spec: DeploySpec, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        started = time.monotonic()
        task = progress.task(f"waiting for the services of {spec.service} {spec.version[:12]}")
        watch = HealthWatch(self._services())
        try:
            while True:
                gen = generation_for(self.containers.read_state(spec.service, spec.environment), spec)
                last = self._observe(gen, started, watch)
                task.update(last.message)
                if last.ready or last.failed:
                    return last
                cancelled = cancel is not None and cancel.is_set()
                if cancelled or time.monotonic() - started >= timeout:
                    why = "cancelled" if cancelled else f"timed out after {timeout:.0f}s"
                    return _failed(last, f"{why}: {last.message}", "ProgressDeadlineExceeded", started)
                _SERVICES_PAUSE(self.poll_interval)
        finally:
            task.done()

    def _observe(self, gen: Generation | None, started: float, watch: HealthWatch) -> RolloutState:
        """One look at every service of ``gen`` and at its endpoint; failed at once when a service
        crashed, exited or spent its healthcheck's budget (no waiting for the rollout timeout)."""
        if gen is None:
            return RolloutState(False, 0, 0, 0, 0, "no containers of this release", True, "NotFound")
        one_shot = self.releases.one_shot_services()
        seen = [look_at(r, self._services()) for r in gen.replicas]
        healthy = [s for s in seen if s.healthy or (s.service in one_shot and s.exited and s.exit_code == 0)]
        desired, seconds = len(seen), time.monotonic() - started
        state = RolloutState(
            False,
            desired,
            desired,
            len(healthy),
            len(healthy),
            f"{len(healthy)} of {desired} services healthy",
            pods_running=len(healthy),
            pods_failed=sum(s.crashed for s in seen),
            restarts=sum(s.restarts for s in seen),
            seconds=seconds,
        )
        crashed = [f"{s.service} ({s.problem})" for s in seen if s.crashed]
        if crashed:
            return _failed(state, f"service(s) crashed: {', '.join(crashed)}", "CrashLoopBackOff", started)
        exited = [f"{s.service} ({s.problem})" for s in seen if s.exited and s.service not in one_shot]
        if exited:
            return _failed(state, f"service(s) exited: {', '.join(exited)}", "ContainerExited", started)
        now = time.monotonic()
        unhealthy = [f"{s.service} ({s.problem or s.engine_health})" for s in seen if watch.unhealthy(s, now)]
        if unhealthy:
            return _failed(state, f"service(s) unhealthy: {', '.join(unhealthy)}", "Unhealthy", started)
        if len(healthy) < desired:
            waiting = ", ".join(f"{s.service}: {s.problem}" for s in seen if not s.healthy)
            return RolloutState(**{**state.to_dict(), "message": f"{state.message}; {waiting}"})
        url = self.releases.endpoint_url(gen.slot)
        answer = self.probe.get(url + self.health_path, timeout=1.0) if url else None
        if answer is not None and not answer.ok:
            return RolloutState(**{**state.to_dict(), "message": f"{url}{self.health_path}: {answer.status}"})
        return RolloutState(**{**state.to_dict(), "ready": True})

    def _services(self) -> dict[str, ComposeService]:
        """The compose file's services by name (their healthchecks), read once."""
        return self.releases.services()

    def endpoints(self, spec: DeploySpec) -> list[str]:
        gen = generation_for(self.containers.read_state(spec.service, spec.environment), spec)
        url = self.releases.endpoint_url(gen.slot) if gen is not None else None
        return [url] if url else []

    def serving_endpoints(self, service: str, environment: str) -> list[str]:
        state = self.containers.read_state(service, environment)
        urls = [self.releases.endpoint_url(g.slot) for g in state.generations if g.running]
        return [u for u in urls if u]

    def cut_over(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        state = self.containers.read_state(spec.service, spec.environment)
        gen = generation_for(state, spec)
        if gen is None:
            raise AdapterError(SYSTEM, "cutting over", f"no containers of release {spec.version[:12]}")
        older = [g for g in state.generations if g.number < gen.number and g.running]
        # Dependents first (the reverse of the start order), so no service loses what it depends on.
        stopped = self.containers.stop(
            [r for g in older for r in sorted(g.replicas, key=lambda r: r.index, reverse=True)]
        )
        if stopped:
            progress.log(f"stopped {len(stopped)} container(s) of the previous release (kept for rollback)")
        state = self.containers.read_state(spec.service, spec.environment)
        keep = {gen.number} | ({state.previous.number} if state.previous is not None else set())
        stale = [g for g in state.generations if g.number not in keep]
        removed = self._remove_projects(spec.service, spec.environment, stale)
        previous = state.previous.number if state.previous is not None else None
        return {"stopped": stopped, "removed": removed, "serving": gen.number, "previous": previous}

    def publish_targets(
        self, service: str, environment: str, *, state: EngineState | None = None
    ) -> dict[str, Any] | None:
        """Compose mode writes no discovery file: the compose file's own services are scraped as it says."""
        return None

    def diagnose(self, service: str, environment: str) -> list[Diagnosis]:
        state = self.containers.read_state(service, environment)
        findings: list[Diagnosis] = []
        for gen in state.under_diagnosis():
            url = self.releases.endpoint_url(gen.slot)
            findings += diagnose_release(
                gen, self._services(), endpoint=url, probe=self.probe, health_path=self.health_path
            )
        return findings

    # -- roll back ------------------------------------------------------------------------------
    def rollback(
        self, service: str, environment: str, *, to: dict[str, Any] | None, progress: Progress
    ) -> RolloutState:
        started = time.monotonic()
        state, target = self._rollback_point(service, environment, to)
        if target is None:
            return self._redeploy(service, environment, to or {}, progress=progress, started=started)
        task = progress.task(
            f"rolling back to project {self.releases.project_name(service, environment, target.number)}"
        )
        self.containers.start(sorted(target.replicas, key=lambda r: r.index))
        result = self._wait_generation(service, environment, target.number, started)
        if result.ready:
            # Only now that the rollback point serves, remove the newer (failed) projects.
            newer = [g for g in state.generations if g.number > target.number]
            self._remove_projects(service, environment, newer)
        task.done()
        return result

    def _wait_generation(self, service: str, environment: str, number: int, started: float) -> RolloutState:
        watch = HealthWatch(self._services())
        while True:
            last = self._observe(self.containers.read_state(service, environment).find(number), started, watch)
            if last.ready or last.failed:
                return last
            if time.monotonic() - started >= self.rollback_timeout:
                return _failed(last, f"timed out: {last.message}", "ProgressDeadlineExceeded", started)
            _SERVICES_PAUSE(self.poll_interval)


def _failed(last: RolloutState, message: str, reason: str, started: float) -> RolloutState:
    return RolloutState(
        **{
            **last.to_dict(),
            "ready": False,
            "failed": True,
            "message": message,
            "reason": reason,
            "seconds": time.monotonic() - started,
        }
    )
