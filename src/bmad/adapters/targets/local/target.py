"""The local target: apply, cut over, roll back and snapshot a release on the container engine.

An update starts the candidate on the free port slot, waits until it is healthy and smoke-tested
(the phase does that), then :meth:`LocalTarget.cut_over` stops the old replicas with a grace
period and *keeps* them, so a rollback is a restart. A rollback starts the target generation
first and only then removes the failed one, so at every moment something serves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bmad.adapters.targets.local.containers import EngineContainers
from bmad.adapters.targets.local.diagnose import diagnose_replica
from bmad.adapters.targets.local.file_sd import file_sd_path, publish_targets
from bmad.adapters.targets.local.rollout import RolloutWatcher
from bmad.adapters.targets.local.state import (
    SYSTEM,
    EngineState,
    Generation,
    config_hash,
    generation_for,
    release_labels,
)
from bmad.config.deploy import LocalTargetConfig
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.progress import Progress
from bmad.ports.target import DeploySpec, Diagnosis, HttpProbe, RolloutState, TargetSnapshot

# Each pause of this polling loop is a wait on another system (a span of the phase).
_REPLICA_PAUSE = sleeper(SpanKind.SERVICE, "rollout: waiting for the replicas")


class LocalTarget:
    kind = "local"

    def __init__(
        self,
        config: LocalTargetConfig,
        *,
        probe: HttpProbe,
        health_path: str = "/health",
        client: Any = None,
        sleep: Callable[[float], None] = _REPLICA_PAUSE,
        poll_interval: float = 0.2,
        rollback_timeout: float = 120.0,
        file_sd_dir: str | None = None,
        scrape_job: str | None = None,
    ) -> None:
        self.config = config
        # Prometheus file_sd: the folder target groups are written to (None: off) and their job label.
        self.file_sd_dir = file_sd_dir
        self.scrape_job = scrape_job
        self.probe = probe
        self.health_path = health_path
        self.rollback_timeout = rollback_timeout
        self.containers = EngineContainers(config, client=client)
        self.rollout = RolloutWatcher(
            self.containers, probe=probe, health_path=health_path, sleep=sleep, poll_interval=poll_interval
        )

    # -- apply ----------------------------------------------------------------------------------
    def apply(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        state = self.containers.read_state(spec.service, spec.environment)
        cfg_hash = config_hash(spec, self.config)
        replicas = spec.replicas or self.config.replicas
        active = state.active
        if (
            active is not None
            and active.release == spec.version
            and active.digest == spec.digest
            and active.config == cfg_hash
            and len(active.replicas) == replicas
            and all(r.running for r in active.replicas)
        ):
            return self._adopt(spec, state, active, progress)
        removed, state = self._remove_leftovers(spec, state, replicas)
        active = state.active
        # The slot the serving generation (or, when nothing serves, the rollback point) does not use.
        keep = active if active is not None else state.previous
        slot = 1 - keep.slot if keep is not None else 0
        # The slot may still hold the previous-but-one generation (the rollback point moves on).
        removed += self.containers.remove(
            [r for g in state.generations if g.slot == slot and g is not keep for r in g.replicas]
        )
        number = max((g.number for g in state.generations), default=0) + 1
        created = self._start_generation(spec, number=number, slot=slot, config=cfg_hash, progress=progress)
        return {
            "adopted": False,
            "generation": number,
            "slot": slot,
            "image": spec.pinned_image,
            "network": self.containers.network_name(spec.service, spec.environment),
            "containers": created,
            "removed_leftovers": removed,
            "replaces": active.number if active is not None else None,
        }

    def _adopt(self, spec: DeploySpec, state: EngineState, active: Generation, progress: Progress) -> dict[str, Any]:
        """A resumed run whose release already serves alone: adopt it, touch nothing."""
        progress.log(f"release {spec.version[:12]} already serves as generation {active.number}; adopting it")
        adopted: dict[str, Any] = {
            "adopted": True,
            "generation": active.number,
            "containers": [r.name for r in active.replicas],
        }
        discovery = self.publish_targets(spec.service, spec.environment, state=state)
        if discovery is not None:
            adopted["file_sd"] = discovery
        return adopted

    def _remove_leftovers(self, spec: DeploySpec, state: EngineState, replicas: int) -> tuple[list[str], EngineState]:
        """Remove unconfirmed candidates (a crashed update), stale generations and an incomplete
        generation of this very release (bmad died while starting it); the state after that."""
        leftovers = [g for g in state.generations if g.role in ("candidate", "stale")]
        active = state.active
        if (
            active is not None
            and active.release == spec.version
            and active.digest == spec.digest
            and (len(active.replicas) < replicas or not all(r.running for r in active.replicas))
        ):
            leftovers.append(active)
        removed = self.containers.remove([r for g in leftovers for r in g.replicas])
        return removed, self.containers.read_state(spec.service, spec.environment)

    def _start_generation(
        self, spec: DeploySpec, *, number: int, slot: int, config: str, progress: Progress
    ) -> list[dict[str, Any]]:
        """Start every replica of generation ``number`` on ``slot``; on an error remove the ones started."""
        replicas = spec.replicas or self.config.replicas
        self.containers.ensure_network(
            self.containers.network_name(spec.service, spec.environment), spec.service, spec.environment
        )
        self.containers.ensure_image(spec)
        created = []
        task = progress.task(f"starting {replicas} replica(s) of {spec.service} {spec.version[:12]}", total=replicas)
        for index in range(replicas):
            name = f"{spec.service}-{spec.environment}-g{number}-{index}"
            host_port = self.config.host_port_base + slot * replicas + index
            labels = release_labels(spec, generation=number, slot=slot, replica=index, config=config)
            try:
                container = self.containers.run(
                    spec.pinned_image, self.containers.run_options(spec, name, labels, host_port)
                )
            except AdapterError:
                # Never leave half a generation behind.
                half = self.containers.read_state(spec.service, spec.environment).find(number)
                self.containers.remove(half.replicas if half is not None else [])
                raise
            created.append({"name": container.name, "id": container.id[:12], "url": f"http://127.0.0.1:{host_port}"})
            task.advance()
        task.done()
        return created

    # -- roll out and cut over ------------------------------------------------------------------
    def wait_ready(
        self, spec: DeploySpec, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        replicas = spec.replicas or self.config.replicas
        return self.rollout.wait_ready(spec, replicas, timeout=timeout, progress=progress, cancel=cancel)

    def endpoints(self, spec: DeploySpec) -> list[str]:
        gen = generation_for(self.containers.read_state(spec.service, spec.environment), spec)
        if gen is None:
            return []
        return [r.url for r in sorted(gen.replicas, key=lambda r: r.index) if r.url]

    def serving_endpoints(self, service: str, environment: str) -> list[str]:
        state = self.containers.read_state(service, environment)
        return [r.url for g in state.generations for r in g.replicas if r.running and r.url]

    def cut_over(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        state = self.containers.read_state(spec.service, spec.environment)
        gen = generation_for(state, spec)
        if gen is None:
            raise AdapterError(SYSTEM, "cutting over", f"no containers of release {spec.version[:12]}")
        older = [g for g in state.generations if g.number < gen.number and g.running]
        stopped = self.containers.stop([r for g in older for r in g.replicas])
        if stopped:
            progress.log(f"stopped {len(stopped)} replica(s) of the previous release (kept for rollback)")
        # What remains besides the new release and its rollback point is stale.
        state = self.containers.read_state(spec.service, spec.environment)
        keep = {gen.number}
        if state.previous is not None:
            keep.add(state.previous.number)
        removed = self.containers.remove([r for g in state.generations if g.number not in keep for r in g.replicas])
        previous = state.previous.number if state.previous is not None else None
        done: dict[str, Any] = {"stopped": stopped, "removed": removed, "serving": gen.number, "previous": previous}
        discovery = self.publish_targets(spec.service, spec.environment)
        if discovery is not None:
            done["file_sd"] = discovery
        return done

    def publish_targets(
        self, service: str, environment: str, *, state: EngineState | None = None
    ) -> dict[str, Any] | None:
        """Write the serving replicas to the Prometheus file_sd file; None when discovery files are off."""
        path = file_sd_path(self.file_sd_dir, service, environment)
        if path is None:
            return None
        state = state or self.containers.read_state(service, environment)
        return publish_targets(path, state, job=self.scrape_job or service, service=service, environment=environment)

    # -- what runs ------------------------------------------------------------------------------
    def status(self, service: str, environment: str) -> dict[str, Any]:
        state = self.containers.read_state(service, environment)
        return {
            "kind": self.kind,
            "service": service,
            "environment": environment,
            "network": self.containers.network_name(service, environment),
            "active": state.active.to_dict() if state.active else None,
            "previous": state.previous.to_dict() if state.previous else None,
            "generations": [g.to_dict() for g in state.generations],
        }

    def snapshot(self, service: str, environment: str) -> TargetSnapshot:
        active = self.containers.read_state(service, environment).active
        if active is None:
            return TargetSnapshot(self.kind, service, environment, exists=False)
        return TargetSnapshot(
            self.kind,
            service,
            environment,
            exists=True,
            generation=active.number,
            release=active.release,
            image=active.image,
            digest=active.digest,
            replicas=len(active.replicas),
            containers=tuple(r.name for r in active.replicas),
        )

    def diagnose(self, service: str, environment: str) -> list[Diagnosis]:
        state = self.containers.read_state(service, environment)
        findings: list[Diagnosis] = []
        for gen in state.under_diagnosis():
            for replica in gen.replicas:
                findings.extend(
                    diagnose_replica(self.containers.inspect(replica), probe=self.probe, health_path=self.health_path)
                )
        return findings

    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None:
        """Engine secrets hold one value each: the key set is {name} when it exists."""
        return self.containers.secret_keys(name)

    # -- roll back ------------------------------------------------------------------------------
    def rollback(
        self, service: str, environment: str, *, to: dict[str, Any] | None, progress: Progress
    ) -> RolloutState:
        started = time.monotonic()
        state, target = self._rollback_point(service, environment, to)
        if target is None:
            return self._redeploy(service, environment, to or {}, progress=progress, started=started)
        task = progress.task(f"rolling back to generation {target.number} ({target.release[:12]})")
        self.containers.start(target.replicas)
        result = self.rollout.wait_generation(
            service, environment, target.number, timeout=self.rollback_timeout, started=started
        )
        if result.ready:
            # Only now that the rollback point serves, remove everything newer (the failed release).
            state = self.containers.read_state(service, environment)
            self.containers.remove([r for g in state.generations if g.number > target.number for r in g.replicas])
            try:
                self.publish_targets(service, environment)
            except AdapterError as exc:  # the service is back; monitoring lags: say so, do not fail
                progress.log(f"rolled back, but the discovery file was not updated: {exc.message}")
        task.done()
        return result

    def _rollback_point(
        self, service: str, environment: str, to: dict[str, Any] | None
    ) -> tuple[EngineState, Generation | None]:
        """The engine's state and the kept generation to restart; None when ``to`` must be deployed anew."""
        state = self.containers.read_state(service, environment)
        target = rollback_target(state, to)
        if target is None and not (to and to.get("image") and to.get("release")):
            raise AdapterError(
                SYSTEM,
                "rolling back",
                f"no earlier release of {service} in {environment} is kept on this engine",
                hint="deploy a known-good version explicitly (bmad rollback --to VERSION needs its image)",
            )
        return state, target

    def _redeploy(
        self, service: str, environment: str, to: dict[str, Any], *, progress: Progress, started: float
    ) -> RolloutState:
        spec = DeploySpec(
            service=service,
            environment=environment,
            version=str(to["release"]),
            image=str(to["image"]),
            digest=str(to.get("digest") or ""),
            env=dict(to.get("env") or {}),
        )
        self.apply(spec, progress=progress)
        result = self.wait_ready(spec, timeout=self.rollback_timeout, progress=progress)
        if result.ready:
            self.cut_over(spec, progress=progress)
            state = self.containers.read_state(service, environment)
            gen = generation_for(state, spec)
            self.containers.remove(
                [r for g in state.generations if gen is not None and g.number > gen.number for r in g.replicas]
            )
            self.publish_targets(service, environment)
        return RolloutState(**{**result.to_dict(), "seconds": time.monotonic() - started})


def rollback_target(state: EngineState, to: dict[str, Any] | None) -> Generation | None:
    """The generation a rollback restarts: the one ``to`` names, else the previous (or the still active) one."""
    if to:
        if to.get("generation") is not None:
            found = state.find(int(to["generation"]))
            if found is not None:
                return found
        digest, release = to.get("digest"), to.get("release") or to.get("version")
        matches = [
            g for g in state.generations if (not digest or g.digest == digest) and (not release or g.release == release)
        ]
        if matches and (digest or release):
            return max(matches, key=lambda g: g.number)
        return None
    candidates = state.by_role("candidate")
    if candidates and state.active is not None:
        return state.active  # the update never cut over: the old release still serves
    return state.previous
