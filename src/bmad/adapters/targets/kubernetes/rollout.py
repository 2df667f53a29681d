"""Waiting for every workload of a release, like ``kubectl rollout status`` for each of them.

Each workload kind and the pods are listed once and then watched (:mod:`.informer`); a server that
cannot be watched is polled, one list per kind and one of pods per interval.
An early stop needs a *persistent* failure (an image that has not been pulled for
``image_pull_seconds``, a crash loop with ``crash_restarts`` restarts, a progress deadline the
controller reported); 429, 5xx and timeouts are retried until the rollout's deadline and are
never, by themselves, a reason to fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.progress import Progress
from bmad.ports.target import RolloutState

from .bundle import RELEASE_ANNOTATION, WORKLOAD_KINDS, selector_string
from .client import KubeApi
from .informer import Informer, wait_for_change
from .viewers import PULL_FAILURES, VIEWERS, counts, pod_problem, pod_ready, pod_restarts

_ROLLOUT_PAUSE = sleeper(SpanKind.KUBERNETES, "rollout: waiting for the workloads")


@datatype(frozen=True)
class EarlyStop:
    """When a failing pod counts as persistent (the rollout stops before its deadline)."""

    image_pull_seconds: float = 30.0
    crash_restarts: int = 3
    config_error_seconds: float = 30.0


@datatype(frozen=True)
class Workload:
    """A workload whose rollout a release waits for, named by kind and name."""

    kind: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def workloads_of(bundle: list[dict[str, Any]]) -> list[Workload]:
    return [
        Workload(str(o["kind"]), str(o["metadata"]["name"]))
        for o in bundle
        if o.get("kind") in WORKLOAD_KINDS and str(o.get("apiVersion")) == "apps/v1"
    ]


def _selects(workload: dict[str, Any], pod: dict[str, Any]) -> bool:
    wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if not wanted or any(labels.get(k) != v for k, v in wanted.items()):
        return False
    release = ((workload.get("spec", {}).get("template", {}).get("metadata") or {}).get("annotations") or {}).get(
        RELEASE_ANNOTATION
    )
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return release is None or annotations.get(RELEASE_ANNOTATION) == release


class PersistentFailures:
    """Remembers since when each pod has shown each problem."""

    def __init__(self, rules: EarlyStop, clock: Callable[[], float]) -> None:
        self.rules = rules
        self._clock = clock
        self._since: dict[tuple[str, str], float] = {}

    def check(self, pods: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """(reason, pod name) of every pod whose failure has become persistent."""
        now = self._clock()
        seen: dict[tuple[str, str], float] = {}
        persistent = []
        for pod in pods:
            problem = pod_problem(pod)
            if problem is None:
                continue
            name, reason = str(pod["metadata"]["name"]), problem[0]
            # A failing pull alternates between ErrImagePull and ImagePullBackOff: one failure.
            key = (name, "pull" if reason in PULL_FAILURES else reason)
            since = seen[key] = self._since.get(key, now)
            if self._is_persistent(reason, now - since, pod_restarts(pod)):
                persistent.append((reason, name))
        self._since = seen
        return persistent

    def _is_persistent(self, reason: str, seconds: float, restarts: int) -> bool:
        if reason in PULL_FAILURES:
            return seconds >= self.rules.image_pull_seconds
        if reason == "CrashLoopBackOff":
            return restarts >= self.rules.crash_restarts
        if reason in ("CreateContainerConfigError", "CreateContainerError"):
            return seconds >= self.rules.config_error_seconds
        return reason == "InvalidImageName"


class RolloutWatch:
    """Follows the workloads of one namespace until all are rolled out, one fails, or time runs out:
    through informers (a list, then a watch per kind and one for the pods), or by polling lists
    when the server cannot be watched."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        workloads: list[Workload],
        *,
        rules: EarlyStop,
        poll: float,
        sleep: Callable[[float], None] = _ROLLOUT_PAUSE,
        clock: Callable[[], float] = time.monotonic,
        watch: bool = True,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.workloads = workloads
        self.poll = poll
        self.use_watch = watch
        self._changed = threading.Event()
        self._sleep = sleep
        self._clock = clock
        self.failures = PersistentFailures(rules, clock)
        self.last_pod_problem = ""

    def observe(self, started: float) -> RolloutState:
        """One look: a list per kind, one list of pods."""
        live: dict[tuple[str, str], dict[str, Any]] = {}
        for kind in dict.fromkeys(w.kind for w in self.workloads):
            for obj in self.api.list_objects("apps/v1", kind, self.namespace):
                obj.setdefault("kind", kind)
                live[(kind, str(obj["metadata"]["name"]))] = obj
        mine = [live[(w.kind, w.name)] for w in self.workloads if (w.kind, w.name) in live]
        # One workload: only its pods; several: the namespace's pods, still one request.
        selector = selector_string((mine[0].get("spec") or {}).get("selector") or {}) if len(mine) == 1 else ""
        listed = self.api.list_objects("v1", "Pod", self.namespace, selector=selector or None)
        pods = [p for p in listed if not p["metadata"].get("deletionTimestamp")]
        return self._summarise(live, pods, started)

    def _informers(self) -> dict[str, Informer] | None:
        """An informer per workload kind and one for the pods; None when they cannot list."""
        started: dict[str, Informer] = {}
        try:
            for kind in dict.fromkeys(w.kind for w in self.workloads):
                path = self.api.object_path("apps/v1", kind, None, self.namespace)
                started[kind] = Informer(self.api, path, self._changed).start()
            names = {(w.kind, w.name) for w in self.workloads}
            mine = [o for k, i in started.items() for o in i.items() if (k, o["metadata"]["name"]) in names]
            selector = selector_string((mine[0].get("spec") or {}).get("selector") or {}) if len(mine) == 1 else ""
            pods = self.api.object_path("v1", "Pod", None, self.namespace)
            started["Pod"] = Informer(self.api, pods, self._changed, selector=selector or None).start()
        except AdapterError:
            for informer in started.values():
                informer.stop()
            return None
        return started

    def _cached(self, informers: dict[str, Informer] | None, started: float) -> RolloutState | None:
        """The state from the informers' caches (no request); None when a watch is not available."""
        if not informers or any(i.unsupported for i in informers.values()):
            return None
        live = {
            (kind, str(obj["metadata"]["name"])): {"kind": kind, **obj}
            for kind, informer in informers.items()
            if kind != "Pod"
            for obj in informer.items()
        }
        pods = [p for p in informers["Pod"].items() if not p["metadata"].get("deletionTimestamp")]
        return self._summarise(live, pods, started)

    def _summarise(
        self, live: dict[tuple[str, str], dict[str, Any]], pods: list[dict[str, Any]], started: float
    ) -> RolloutState:
        totals = [0, 0, 0, 0]
        waiting: list[str] = []
        failed_messages: list[str] = []
        current: list[dict[str, Any]] = []
        for workload in self.workloads:
            obj = live.get((workload.kind, workload.name))
            if obj is None:
                failed_messages.append(f"{workload.label} not found")
                continue
            done, failed, message = VIEWERS[workload.kind](obj)
            totals = [a + b for a, b in zip(totals, counts(obj), strict=True)]
            current.extend(p for p in pods if _selects(obj, p))
            if failed:
                failed_messages.append(message)
            elif not done:
                waiting.append(message)
        problems = [(p, pod_problem(p)) for p in current]
        bad = [(p, prob) for p, prob in problems if prob is not None]
        self.last_pod_problem = sorted(prob[0] for _p, prob in bad)[0] if bad else ""
        persistent = self.failures.check(current)
        reason, message = "", "; ".join(waiting) or self._done_message(live)
        if failed_messages:
            missing = any("not found" in m for m in failed_messages)
            reason, message = ("NotFound" if missing else "ProgressDeadlineExceeded"), "; ".join(failed_messages)
        elif persistent and waiting:
            reasons = sorted({r for r, _n in persistent}, key=lambda r: (r not in PULL_FAILURES, r))
            reason = reasons[0]
            message = f"{reason}: {', '.join(sorted({n for _r, n in persistent}))}"
        return RolloutState(
            ready=not waiting and not failed_messages,
            desired=totals[0],
            updated=totals[1],
            ready_replicas=totals[2],
            available=totals[3],
            message=message,
            failed=bool(reason),
            reason=reason,
            pods_running=sum(1 for p in current if pod_ready(p)),
            pods_failed=len(bad),
            restarts=sum(pod_restarts(p) for p in current),
            seconds=self._clock() - started,
        )

    def _done_message(self, live: dict[tuple[str, str], dict[str, Any]]) -> str:
        messages = [VIEWERS[w.kind](live[(w.kind, w.name)])[2] for w in self.workloads if (w.kind, w.name) in live]
        return "; ".join(messages)

    def wait(self, *, timeout: float, progress: Progress, cancel: threading.Event | None = None) -> RolloutState:
        started = self._clock()
        names = ", ".join(w.label for w in self.workloads) or "nothing"
        task = progress.task(f"rollout of {names}")
        state = RolloutState(False, 0, 0, 0, 0, message="no answer from the API server yet")
        last_message, last_error = "", ""
        informers = self._informers() if self.use_watch else None
        try:
            while True:
                try:
                    state = self._cached(informers, started) or self.observe(started)
                    last_error = ""
                except AdapterError as exc:
                    if not exc.temporary:
                        raise
                    last_error = exc.message  # throttled or unavailable: ask again until the deadline
                    progress.log(f"rollout status unavailable, retrying: {exc.message}")
                if state.message != last_message:
                    task.update(state.message, completed=state.available)
                    last_message = state.message
                if state.ready or state.failed:
                    return state
                cancelled = cancel is not None and cancel.is_set()
                if cancelled or self._clock() - started >= timeout:
                    return self._gave_up(state, started, timeout, cancelled, last_error)
                if self._cached(informers, started) is not None:
                    wait_for_change(self._changed, self.poll)
                else:
                    self._sleep(self.poll)
        finally:
            task.done()
            for informer in (informers or {}).values():
                informer.stop()

    def _gave_up(
        self, state: RolloutState, started: float, timeout: float, cancelled: bool, last_error: str
    ) -> RolloutState:
        message = ("cancelled" if cancelled else f"timed out after {timeout:.0f}s") + f": {state.message}"
        if last_error:
            message += f" (last API error: {last_error})"
        return RolloutState(
            False,
            state.desired,
            state.updated,
            state.ready_replicas,
            state.available,
            message=message,
            failed=True,
            reason=self.last_pod_problem or "Timeout",
            pods_running=state.pods_running,
            pods_failed=state.pods_failed,
            restarts=state.restarts,
            seconds=self._clock() - started,
        )
