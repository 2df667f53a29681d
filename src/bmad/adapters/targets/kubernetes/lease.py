"""The Kubernetes target's own lock: a ``coordination.k8s.io/v1`` Lease in the release's namespace.

Runs with separate ledgers can deploy one service to one cluster; the ledger's lock cannot order
them, so DEPLOY (and ``bmad rollback``) hold a Lease named ``bmad-<service>-<environment>``, as
leader election does (client-go tools/leaderelection): ``spec.holderIdentity`` names the run
(host/pid/ledger/run), ``renewTime`` is renewed by a heartbeat every third of
``leaseDurationSeconds``, and at the end the holder is cleared. A Lease whose ``renewTime`` plus
duration lies in the past belongs to a dead run and is taken over. Every write carries the
``resourceVersion`` it read (optimistic concurrency): a 409 means another run won the race.
API reference: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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


@dataclass(frozen=True)
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

    def expires(self) -> datetime | None:
        return self.renewed + timedelta(seconds=self.duration) if self.renewed else None

    def free_for(self, identity: str, now: datetime) -> bool:
        """Nobody holds it, ``identity`` already does, or the holder stopped renewing in time."""
        expires = self.expires()
        return not self.holder or self.holder == identity or expires is None or expires < now


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
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration = max(1, duration_seconds)
        self._clock = clock
        self._version = ""

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
            now = self._clock()
            try:
                if lease is None:
                    self._create(now)
                    return
                state = LeaseState.of(lease)
                if not state.free_for(self.identity, now):
                    raise self._held(what, state)
                self._replace(lease, {**(lease.get("spec") or {}), **self._spec(state, now)})
                return
            except Conflict:
                continue  # another run created or took it between our read and write: read again
        lease = self._read()
        raise self._held(what, LeaseState.of(lease or {}))

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

    def _replace(self, lease: dict[str, Any], spec: dict[str, Any]) -> None:
        body = {**lease, "spec": {k: v for k, v in spec.items() if v is not None}}
        stored = self.api.request("PUT", self.path, body=body)
        self._version = LeaseState.of(stored or {}).resource_version

    def renew(self) -> bool:
        """Move ``renewTime`` to now; False when another run holds the Lease now (the lock was lost)."""
        lease = self._read()
        if lease is None or LeaseState.of(lease).holder != self.identity:
            return False
        try:
            self._replace(lease, {**(lease.get("spec") or {}), "renewTime": micro_time(self._clock())})
        except Conflict:
            return LeaseState.of(self._read() or {}).holder == self.identity
        return True

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
