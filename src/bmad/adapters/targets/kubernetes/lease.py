"""The Kubernetes target's own lock: a ``coordination.k8s.io/v1`` Lease in the release's namespace.

Runs with separate ledgers can deploy one service to one cluster; the ledger's lock cannot order
them, so DEPLOY (and ``bmad rollback``) hold a Lease named ``bmad-<service>-<environment>``, as
leader election does (client-go tools/leaderelection): ``spec.holderIdentity`` names the run
(host/pid/ledger/run), ``renewTime`` is renewed by a heartbeat every third of
``leaseDurationSeconds``, and at the end the holder is cleared. A holder's ``renewTime`` is written
by ITS clock, so expiry is never judged by it alone: a Lease is taken over only when the waiting run
has watched the same record (holder, renewTime, resourceVersion) stay unchanged for a whole
``leaseDurationSeconds`` by its own monotonic clock (client-go's ``observedTime``). Every write
carries the ``resourceVersion`` it read (optimistic concurrency): a 409 means another run won the race.
While held, :meth:`TargetLease.lost` says whether the lease was taken or could not be renewed in time.
API reference: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, LockHeld

from ..heartbeat import Heartbeat
from .client import Conflict, KubeApi

API_VERSION = "coordination.k8s.io/v1"
_ATTEMPTS = 3


def lease_name(service: str, environment: str) -> str:
    """``bmad-<service>-<environment>``, folded into a DNS subdomain (what a Lease name must be)."""
    raw = f"bmad-{service}-{environment}".lower()
    return re.sub(r"[^a-z0-9.-]+", "-", raw).strip("-.")[:253]


def micro_time(moment: datetime) -> str:
    """A MicroTime as the API writes it: ``2026-12-06T09:13:20.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@datatype(frozen=True)
class LeaseState:
    """What a stored Lease says: its holder, when it was last renewed, for how long, its version."""

    holder: str
    renewed: datetime | None
    duration: int
    transitions: int
    resource_version: str

    @classmethod
    def of(cls, lease: dict[str, Any]) -> LeaseState:
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            renewed=_parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime")),
            duration=int(spec.get("leaseDurationSeconds") or 0),
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=str((lease.get("metadata") or {}).get("resourceVersion") or ""),
        )

    @property
    def record(self) -> tuple[str, str, str]:
        """What identifies one renewal: a holder that renews changes it, a dead one never does."""
        return self.holder, micro_time(self.renewed) if self.renewed else "", self.resource_version

    def expires(self) -> datetime | None:
        return self.renewed + timedelta(seconds=self.duration) if self.renewed else None

    def free_for(self, identity: str) -> bool:
        """Nobody holds it, or ``identity`` already does."""
        return not self.holder or self.holder == identity

    def looks_expired(self, now: datetime) -> bool:
        """By the holder's own ``renewTime``: a hint only (clocks differ), confirmed by watching it."""
        expires = self.expires()
        return expires is None or expires < now


@datatype(frozen=True)
class Observation:
    """A Lease record as this run first saw it, and when, by this run's monotonic clock."""

    record: tuple[str, str, str]
    seen_at: float


class TargetLease:
    """One run's hold on the Lease of a service and environment in ``namespace``."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        name: str,
        *,
        identity: str,
        duration_seconds: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration = max(1, duration_seconds)
        self._clock = clock
        self._monotonic = monotonic
        self._version = ""
        self._observed: Observation | None = None
        self._renewed_at = 0.0  # monotonic time of this run's last successful write
        self._taken_by: str | None = None

    @property
    def path(self) -> str:
        return f"/apis/{API_VERSION}/namespaces/{quote(self.namespace)}/leases/{quote(self.name)}"

    def _read(self) -> dict[str, Any] | None:
        found = self.api.request("GET", self.path, missing_ok=True)
        return found if isinstance(found, dict) else None

    def _spec(self, state: LeaseState | None, now: datetime) -> dict[str, Any]:
        transitions = 0 if state is None else state.transitions + (state.holder != self.identity)
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        }

    def acquire(self, what: str) -> None:
        """Take the Lease, or raise :class:`LockHeld` naming the run that holds it (``what`` names the target)."""
        for _attempt in range(_ATTEMPTS):
            lease = self._read()
            try:
                if lease is None:
                    self._create(self._clock())
                    return
                lease = self._claimable(what, lease)
                if lease is None:
                    continue  # deleted while we watched it: create it
                state = LeaseState.of(lease)
                self._replace(lease, {**(lease.get("spec") or {}), **self._spec(state, self._clock())})
                return
            except Conflict:
                continue  # another run created or took it between our read and write: read again
        lease = self._read()
        raise self._held(what, LeaseState.of(lease or {}))

    def _claimable(self, what: str, lease: dict[str, Any]) -> dict[str, Any] | None:
        """``lease`` when it is free or its holder is dead; :class:`LockHeld` while its holder renews."""
        state = LeaseState.of(lease)
        if state.free_for(self.identity):
            return lease
        if not state.looks_expired(self._clock()):
            raise self._held(what, state)  # renewed within its duration by its own clock: alive
        return self._watch_until_expired(what, lease)

    def _watch_until_expired(self, what: str, lease: dict[str, Any]) -> dict[str, Any] | None:
        """Watch ``lease`` until its record stayed unchanged for its whole duration by OUR clock.

        As client-go's leader election does (k8s.io/client-go/tools/leaderelection, leaderelection.go:
        ``observedRecord``/``observedTime``, and ``isLeaseValid``): a candidate notes when it first saw
        the current record and judges expiry by that observation, never by the holder's ``renewTime``,
        so a holder whose clock lags (renewTime far in the past) but keeps renewing is never taken over.
        """
        state = LeaseState.of(lease)
        while not self._observed_longer_than(state, state.duration or self.duration):
            time.sleep(min(1.0, max(0.05, (state.duration or self.duration) / 10)))
            fresh = self._read()
            if fresh is None:
                return None
            fresh_state = LeaseState.of(fresh)
            if fresh_state.free_for(self.identity):
                return fresh
            if fresh_state.record != state.record:
                raise self._held(what, fresh_state)  # renewed (or taken) while we watched: alive
        return lease

    def _observed_longer_than(self, state: LeaseState, seconds: float) -> bool:
        now = self._monotonic()
        if self._observed is None or self._observed.record != state.record:
            self._observed = Observation(state.record, now)
        return now - self._observed.seen_at > seconds

    def _create(self, now: datetime) -> None:
        body = {
            "apiVersion": API_VERSION,
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "bmad"},
            },
            "spec": self._spec(None, now),
        }
        created = self.api.request("POST", self.path.rsplit("/", 1)[0], body=body)
        self._version = LeaseState.of(created or {}).resource_version
        self._renewed_at = self._monotonic()

    def _replace(self, lease: dict[str, Any], spec: dict[str, Any]) -> None:
        body = {**lease, "spec": {k: v for k, v in spec.items() if v is not None}}
        stored = self.api.request("PUT", self.path, body=body)
        self._version = LeaseState.of(stored or {}).resource_version
        self._renewed_at = self._monotonic()

    def renew(self) -> bool:
        """Move ``renewTime`` to now; False when another run holds the Lease now (the lock was lost)."""
        lease = self._read()
        if lease is None or LeaseState.of(lease).holder != self.identity:
            return self._lost_to(lease)
        try:
            self._replace(lease, {**(lease.get("spec") or {}), "renewTime": micro_time(self._clock())})
        except Conflict:
            lease = self._read()
            return LeaseState.of(lease or {}).holder == self.identity or self._lost_to(lease)
        return True

    def _lost_to(self, lease: dict[str, Any] | None) -> bool:
        self._taken_by = LeaseState.of(lease or {}).holder or "nobody (the lease was deleted or cleared)"
        return False

    def lost(self) -> str | None:
        """Why this run no longer holds the Lease (taken by another run, not renewed in time), else None."""
        where = f"lease {self.namespace}/{self.name}"
        if self._taken_by is not None:
            return f"the {where} is now held by {self._taken_by}"
        late = self._monotonic() - self._renewed_at
        if self._renewed_at and late > self.duration:
            return f"the {where} could not be renewed for {late:.0f} s (longer than its {self.duration} s)"
        return None

    def release(self) -> None:
        """Clear the holder (as client-go's leader election releases), if this run still holds it."""
        with contextlib.suppress(AdapterError):
            lease = self._read()
            if lease is None or LeaseState.of(lease).holder != self.identity:
                return
            spec = {**(lease.get("spec") or {}), "holderIdentity": None, "leaseDurationSeconds": 1}
            self._replace(lease, {**spec, "renewTime": micro_time(self._clock())})

    def _held(self, what: str, state: LeaseState) -> LockHeld:
        expires = state.expires()
        until = f", expires {micro_time(expires)} unless renewed" if expires else ""
        return LockHeld(
            f"{what} is being deployed by {state.holder or 'another run'} (lease {self.namespace}/{self.name}{until})",
            hint=(
                f"wait for that run to end (kubectl get lease {self.name} -n {self.namespace}); "
                f"a run that died is taken over once its lease expires ({state.duration or self.duration} s "
                "after its last renewal)"
            ),
        )


@contextlib.contextmanager
def keep_renewed(lease: TargetLease) -> Iterator[TargetLease]:
    """Renew an acquired ``lease`` every third of its duration while the block runs; release it after."""
    try:
        with Heartbeat(lease.renew, lease.duration / 3):
            yield lease
    finally:
        lease.release()
