"""The local container engine as a deployment target (Docker or Podman, through the Docker API).

A release runs as N replicas on a user-defined network, each publishing the service port on
127.0.0.1, with an engine health check and ``init=True``. The package is split by concern:

* ``state``      — the state model read back from container labels (generations and their roles);
* ``containers`` — the engine calls (list, inspect, start, stop, remove);
* ``target``     — :class:`LocalTarget`: apply, cut over, roll back, snapshot;
* ``rollout``    — watching a generation become ready;
* ``file_sd``    — the Prometheus file-based discovery file;
* ``diagnose``   — the guide's troubleshooting per replica;
* ``compose_mode``, ``compose_release``, ``compose_health`` — Compose mode (``target.local.compose``):
  a compose project per release, in the same state model.
"""

from bmad.adapters.targets.local.state import (
    EngineState,
    Generation,
    Replica,
    assign_roles,
    config_hash,
    replica_from_attrs,
)
from bmad.adapters.targets.local.target import LocalTarget

__all__ = ["EngineState", "Generation", "LocalTarget", "Replica", "assign_roles", "config_hash", "replica_from_attrs"]
