"""The target's own lock, held by DEPLOY and ``bmad rollback`` next to the ledger's lock.

A ledger's lock only orders runs that share that ledger; checkouts with their own ledgers meet at
the target. The local target takes an exclusive file lock per container engine
(:mod:`bmad.adapters.targets.local.target_lock`), a Kubernetes target a Lease in the release's
namespace (:mod:`bmad.adapters.targets.kubernetes.lease`). Both are renewed while the block runs.
"""

from __future__ import annotations

import contextlib
import os

from bmad.config.models import BmadConfig
from bmad.ports.phase import RunOptions, TargetLockWatch
from bmad.ports.target import Target


def holder_identity(owner: str, ledger_url: str) -> str:
    """``host/pid/ledger-<id>/<run>``: who holds a Kubernetes lock (the ledger as a hash, never its URL)."""
    from bmad.adapters.own_metrics import ledger_group_id

    parts = owner.rsplit(":", 2)  # the ledger's owner token: host:pid:run
    host, pid, run = parts if len(parts) == 3 else ("localhost", str(os.getpid()), owner)
    return f"{host}/{pid}/ledger-{ledger_group_id(ledger_url)}/{run}"


def hold_target_lock(
    config: BmadConfig,
    environment: str,
    *,
    owner: str,
    ledger_url: str,
    options: RunOptions | None = None,
    target: Target | None = None,
) -> contextlib.AbstractContextManager[TargetLockWatch | None]:
    """The lock of the environment's target for ``config``'s service; LockHeld names its holder."""
    from bmad.engine.wiring.deploy import make_target

    settings = config.environment(environment).target
    service = config.service.name
    lease_seconds = config.ledger.lock_lease_seconds
    if settings.kind == "kubernetes":
        from bmad.adapters.targets.kubernetes import KubernetesTarget

        kube = target or make_target(config, environment, options=options)
        if not isinstance(kube, KubernetesTarget):
            return contextlib.nullcontext()  # a test double standing in for the cluster
        identity = holder_identity(owner, ledger_url)
        return kube.hold_lock(service, environment, identity=identity, lease_seconds=lease_seconds)
    from bmad.adapters.targets.local.target_lock import hold_target_lock as hold_local_lock

    given = options or RunOptions()
    engine = given.docker_host or settings.local.docker_host or os.environ.get("DOCKER_HOST") or "default"
    return hold_local_lock(engine, service, environment, owner=owner, lease_seconds=lease_seconds)
