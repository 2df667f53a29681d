"""The scheduler and the kubelet, simulated: binding, container states, probes, restarts, Events.

Follows "Pod Lifecycle" (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/):
phases, conditions (PodScheduled, Initialized, ContainersReady, Ready), container states, a
restart back-off of 10 s doubling up to 5 minutes (``CrashLoopBackOff``, ``restartCount``,
``lastState.terminated`` with ``OOMKilled`` / ``Error``); images that cannot be pulled wait in
``ErrImagePull`` then ``ImagePullBackOff`` ("Images", https://kubernetes.io/docs/concepts/containers/images/);
an unschedulable pod stays ``Pending`` with ``PodScheduled=False`` reason ``Unschedulable``.
A container is Ready once its readiness probe's ``initialDelaySeconds`` passed (simulated time).
Pods with ``restartPolicy: Never`` (or ``OnFailure`` and exit code 0) end when their containers
have terminated: phase ``Succeeded`` when every exit code is 0, else ``Failed`` (images ``complete``
exit 0, ``crash`` exit 1; ``process`` images with their process' code).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from ..apply import now
from ..storage import Key
from . import fit
from .base import Controller

Obj = dict[str, Any]
PULL_SECONDS = 0.5
CRASH_AFTER_SECONDS = 1.0
TERMINATION_SECONDS = 2.0
MAX_BACKOFF = 300.0


@dataclass
class ContainerSim:
    """One container's simulated life."""

    name: str
    image: str
    behaviour: str
    ready_delay: float
    started: float = -1.0
    restarts: int = 0
    waiting_until: float = 0.0
    last_terminated: Obj | None = None


@dataclass
class PodSim:
    scheduled: float
    containers: list[ContainerSim] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)
    ended: bool = False


def _ready_delay(container: Obj) -> float:
    probe = container.get("readinessProbe") or {}
    return float(probe.get("initialDelaySeconds", 0))


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    out: Obj = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": now()}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


class PodController(Controller):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sims: dict[str, PodSim] = {}
        self.nodes = itertools.count()
        self.terminating: dict[str, float] = {}

    def reconcile(self) -> None:
        live = set()
        for pod in self.list("", "pods"):
            uid = pod["metadata"]["uid"]
            live.add(uid)
            if pod["metadata"].get("deletionTimestamp"):
                self._terminate(pod, uid)
            elif not (pod.get("spec") or {}).get("nodeName"):
                self._schedule(pod)
            else:
                self._run(pod, uid)
        for uid in set(self.sims) - live:
            del self.sims[uid]
        for uid in set(self.terminating) - live:
            del self.terminating[uid]
        self.runtime.processes.stop_except(live)

    def _terminate(self, pod: Obj, uid: str) -> None:
        """A deleted pod: its containers stop (not ready at once), then it is gone once they have, at
        the latest after its grace period (TERMINATION_SECONDS for containers that stop on SIGTERM)."""
        t = self.runtime.clock.now()
        since = self.terminating.setdefault(uid, t)
        self.runtime.processes.stop_pod(uid)
        self.runtime.ready_since.pop(uid, None)
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds", 30))
        if t - since >= min(grace, TERMINATION_SECONDS):
            self.api.store.delete(Key("", "pods", pod["metadata"].get("namespace", ""), pod["metadata"]["name"]))
            return
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            status = copy.deepcopy(pod["status"])
            for condition in status["conditions"]:
                if condition.get("type") in ("Ready", "ContainersReady"):
                    condition.update({"status": "False", "reason": "ContainersNotReady"})
            self.set_status(pod, status)

    def _schedule(self, pod: Obj) -> None:
        images = [c.get("image", "") for c in pod["spec"].get("containers") or []]
        nodes = self.list("", "nodes")
        fitting, message = fit.place(pod, nodes, self.list("", "pods"))
        if any(self.runtime.behaviour(i) == "unschedulable" for i in images):
            fitting, message = (
                [],
                (
                    f"0/{len(nodes)} nodes are available: {len(nodes)} Insufficient cpu. preemption: 0/{len(nodes)} "
                    f"nodes are available: {len(nodes)} No preemption victims found for incoming pod."
                ),
            )
        if not fitting:
            status = {
                "phase": "Pending",
                "conditions": [_condition("PodScheduled", False, "Unschedulable", message)],
                "qosClass": "BestEffort",
            }
            if pod.get("status", {}).get("conditions", [{}])[0].get("reason") != "Unschedulable":
                self.event(pod, "Warning", "FailedScheduling", message, "default-scheduler")
                self.set_status(pod, status)
            return
        names = sorted(fitting)
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = names[next(self.nodes) % len(names)]
        saved = self.save(bound, manager="kube-scheduler")
        if saved is not None:
            where = f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
            self.event(
                saved,
                "Normal",
                "Scheduled",
                f"Successfully assigned {where} to {bound['spec']['nodeName']}",
                "default-scheduler",
            )

    def _sim(self, pod: Obj, uid: str) -> PodSim:
        sim = self.sims.get(uid)
        if sim is None:
            sim = PodSim(self.runtime.clock.now())
            for c in pod["spec"].get("containers") or []:
                image = c.get("image", "")
                sim.containers.append(ContainerSim(c["name"], image, self.runtime.behaviour(image), _ready_delay(c)))
            self.sims[uid] = sim
            for c in pod["spec"].get("initContainers") or []:
                self.runtime.start_container(
                    pod["metadata"].get("namespace", ""), pod["metadata"]["name"], c["name"], c.get("image", "")
                )
        return sim

    def _run(self, pod: Obj, uid: str) -> None:
        sim = self._sim(pod, uid)
        if sim.ended:
            return
        t = self.runtime.clock.now()
        statuses = [self._advance(pod, sim, c, t) for c in sim.containers]
        if self._ends(pod, sim, statuses):
            return
        ready = all(s["ready"] for s in statuses)
        started = all(s["started"] for s in statuses)
        meta = pod["metadata"]
        status = {
            "phase": "Running" if started or any(c.restarts for c in sim.containers) else "Pending",
            "conditions": [
                _condition("PodReadyToStartContainers", True),
                _condition("Initialized", True),
                _condition(
                    "Ready", ready, "" if ready else "ContainersNotReady", "" if ready else self._not_ready(statuses)
                ),
                _condition(
                    "ContainersReady",
                    ready,
                    "" if ready else "ContainersNotReady",
                    "" if ready else self._not_ready(statuses),
                ),
                _condition("PodScheduled", True),
            ],
            "hostIP": "192.168.0.10",
            "podIP": f"10.244.0.{sum(uid.encode()) % 250 + 2}",
            "startTime": meta.get("creationTimestamp"),
            "qosClass": "BestEffort",
            "containerStatuses": statuses,
        }
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [self._completed(c) for c in pod["spec"]["initContainers"]]
        self._set_if_changed(pod, status)
        if ready:
            self.runtime.ready_since.setdefault(uid, t)
        else:
            self.runtime.ready_since.pop(uid, None)

    def _ends(self, pod: Obj, sim: PodSim, statuses: list[Obj]) -> bool:
        """Run to completion: with restartPolicy Never (OnFailure: exit 0 only) a pod whose containers
        all terminated ends Succeeded or Failed, its containers' last state becoming their state."""
        policy = pod["spec"].get("restartPolicy", "Always")
        ends = [c.last_terminated for c in sim.containers]
        if policy == "Always" or any(e is None for e in ends):
            return False
        codes = [int((e or {}).get("exitCode", 1)) for e in ends]
        if policy == "OnFailure" and any(codes):
            return False
        for status, end in zip(statuses, ends, strict=True):
            status.update({"state": {"terminated": end}, "lastState": {}, "ready": False, "started": False})
            status["restartCount"] = 0 if policy == "Never" else status["restartCount"] - 1
        phase = "Succeeded" if not any(codes) else "Failed"
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        status = copy.deepcopy(pod.get("status") or {})
        status.update({"phase": phase, "containerStatuses": statuses})
        status["conditions"] = [
            _condition("Ready", False, reason),
            _condition("ContainersReady", False, reason),
            _condition("PodScheduled", True),
        ]
        sim.ended = True
        self.set_status(pod, status)
        self.runtime.ready_since.pop(pod["metadata"]["uid"], None)
        return True

    @staticmethod
    def _not_ready(statuses: list[Obj]) -> str:
        names = " ".join(s["name"] for s in statuses if not s["ready"])
        return f"containers with unready status: [{names}]"

    @staticmethod
    def _completed(container: Obj) -> Obj:
        terminated = {"exitCode": 0, "reason": "Completed", "startedAt": now(), "finishedAt": now()}
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "ready": True,
            "restartCount": 0,
            "started": False,
            "state": {"terminated": terminated},
            "lastState": {},
        }

    def _set_if_changed(self, pod: Obj, status: Obj) -> None:
        old = copy.deepcopy(pod.get("status") or {})
        if _without_times(old) != _without_times(status):
            self.set_status(pod, status)

    def _advance(self, pod: Obj, sim: PodSim, c: ContainerSim, t: float) -> Obj:
        """This container's status at simulated time ``t`` (starting, crashing, restarting it)."""
        base: Obj = {
            "name": c.name,
            "image": c.image,
            "imageID": "",
            "restartCount": c.restarts,
            "ready": False,
            "started": False,
            "lastState": {},
        }
        if c.last_terminated:
            base["lastState"] = {"terminated": c.last_terminated}
        if c.behaviour == "pull-failure":
            return self._pull_failure(pod, sim, c, t, base)
        if t < sim.scheduled + PULL_SECONDS or t < c.waiting_until:
            reason = "ContainerCreating" if c.restarts == 0 else "CrashLoopBackOff"
            message = "" if c.restarts == 0 else self._backoff_message(pod, c)
            base["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
            return base
        if c.behaviour == "process":
            return self._process(pod, sim, c, t, base)
        if c.started < 0 or c.started < c.waiting_until:
            self._start(pod, sim, c, t)
        if c.behaviour in ("crash", "oom", "complete") and t >= c.started + CRASH_AFTER_SECONDS:
            return self._crash(pod, c, t, base)
        base["state"] = {"running": {"startedAt": now()}}
        base["started"] = True
        base["ready"] = t >= c.started + c.ready_delay and c.behaviour == "ok"
        base["containerID"] = f"containerd://{abs(hash((pod['metadata']['uid'], c.name, c.restarts))):x}"
        return base

    def _start(self, pod: Obj, sim: PodSim, c: ContainerSim, t: float) -> None:
        c.started = t
        meta = pod["metadata"]
        self.runtime.start_container(meta.get("namespace", ""), meta["name"], c.name, c.image)
        self._report_started(pod, sim, c)

    def _report_started(self, pod: Obj, sim: PodSim, c: ContainerSim) -> None:
        if f"started:{c.name}" not in sim.reported:
            sim.reported.add(f"started:{c.name}")
            self.event(pod, "Normal", "Pulled", f'Container image "{c.image}" already present on machine', "kubelet")
            self.event(pod, "Normal", "Created", f"Created container: {c.name}", "kubelet")
            self.event(pod, "Normal", "Started", f"Started container {c.name}", "kubelet")

    def _process(self, pod: Obj, sim: PodSim, c: ContainerSim, t: float, base: Obj) -> Obj:
        """A container run as a real local process: started, probed over HTTP, restarted when it exits."""
        meta, procs = pod["metadata"], self.runtime.processes
        key = (meta["uid"], c.name)
        spec = next(x for x in pod["spec"]["containers"] if x["name"] == c.name)
        if procs.get(key) is None:
            env = {e["name"]: str(e.get("value", "")) for e in spec.get("env") or [] if "name" in e}
            log = self.runtime.process_log(meta.get("namespace", ""), meta["name"], c.name)
            procs.start(key, self.runtime.image_argv.get(c.image, ["false"]), env, log)
            c.started = t
            self._report_started(pod, sim, c)
        code = procs.exit_code(key)
        if code is not None:
            procs.forget(key)
            c.last_terminated = {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": now(),
                "finishedAt": now(),
            }
            c.restarts += 1
            c.waiting_until = t + self._backoff(c.restarts)
            self.event(
                pod,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {c.name} in pod {meta['name']}",
                "kubelet",
            )
            base.update({"restartCount": c.restarts, "lastState": {"terminated": c.last_terminated}})
            base["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": self._backoff_message(pod, c)}}
            return base
        probe = ((spec.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        base["state"] = {"running": {"startedAt": now()}}
        base["started"] = True
        base["ready"] = t >= c.started + c.ready_delay and (probe is None or procs.probe(key, str(probe)))
        return base

    def _backoff_message(self, pod: Obj, c: ContainerSim) -> str:
        seconds = int(self._backoff(c.restarts))
        return f"back-off {seconds}s restarting failed container={c.name} pod={pod['metadata']['name']}"

    @staticmethod
    def _backoff(restarts: int) -> float:
        return min(10.0 * 2.0 ** max(0, restarts - 1), MAX_BACKOFF)

    def _crash(self, pod: Obj, c: ContainerSim, t: float, base: Obj) -> Obj:
        oom, done = c.behaviour == "oom", c.behaviour == "complete"
        meta = pod["metadata"]
        last_line = "done: exiting with status 0" if done else "fatal: exiting with status 1"
        self.runtime.log(meta.get("namespace", ""), meta["name"], c.name, "fatal: out of memory" if oom else last_line)
        c.last_terminated = {
            "exitCode": 137 if oom else 0 if done else 1,
            "reason": "OOMKilled" if oom else "Completed" if done else "Error",
            "startedAt": now(),
            "finishedAt": now(),
        }
        c.restarts += 1
        c.waiting_until = t + self._backoff(c.restarts)
        self.event(
            pod,
            "Warning",
            "BackOff",
            "Back-off restarting failed container " + c.name + f" in pod {meta['name']}",
            "kubelet",
        )
        message = self._backoff_message(pod, c)
        base.update({"restartCount": c.restarts, "lastState": {"terminated": c.last_terminated}})
        base["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
        return base

    def _pull_failure(self, pod: Obj, sim: PodSim, c: ContainerSim, t: float, base: Obj) -> Obj:
        first = t < sim.scheduled + PULL_SECONDS * 2
        if f"pull:{c.name}" not in sim.reported:
            sim.reported.add(f"pull:{c.name}")
            self.event(pod, "Normal", "Pulling", f'Pulling image "{c.image}"', "kubelet")
            cause = f'failed to pull and unpack image "{c.image}": not found'
            detail = f'Failed to pull image "{c.image}": rpc error: code = NotFound desc = {cause}'
            self.event(pod, "Warning", "Failed", detail, "kubelet")
            self.event(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet")
        if first:
            base["state"] = {
                "waiting": {
                    "reason": "ErrImagePull",
                    "message": f'failed to pull and unpack image "{c.image}": not found',
                }
            }
        else:
            base["state"] = {
                "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{c.image}"'}
            }
        return base


def _without_times(status: Obj) -> Obj:
    clean = copy.deepcopy(status)
    for cond in clean.get("conditions") or []:
        cond.pop("lastTransitionTime", None)
    for key in ("containerStatuses", "initContainerStatuses"):
        for s in clean.get(key) or []:
            for state in (s.get("state") or {}).values():
                state.pop("startedAt", None), state.pop("finishedAt", None)
            for state in (s.get("lastState") or {}).values():
                state.pop("startedAt", None), state.pop("finishedAt", None)
    return clean
