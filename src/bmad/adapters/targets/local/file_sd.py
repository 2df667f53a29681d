"""Prometheus file-based service discovery for the local target.

After a cut-over or a rollback the target writes the serving generation's replicas as one
target group to ``<folder>/<service>-<environment>.json``; Prometheus re-reads the file and
scrapes them with the labels the verification window judges.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bmad.adapters.targets.local.state import EngineState
from bmad.core.errors import AdapterError
from bmad.core.files import write_atomic


def file_sd_path(folder: str | None, service: str, environment: str) -> str | None:
    """``<folder>/<service>-<environment>.json``, or None when discovery files are off."""
    if not folder:
        return None
    return str(Path(folder) / f"{service}-{environment}.json")


def publish_targets(path: str, state: EngineState, *, job: str, service: str, environment: str) -> dict[str, Any]:
    """Write the serving generation's replicas as a Prometheus file_sd target group.

    Labels: ``job`` (the scrape job MEASURE checks), ``environment``, ``release`` (the version's
    first 12 characters). Nothing serving: an empty list (nothing scraped). Returns what was
    written (for evidence).
    """
    active = state.active
    groups: list[dict[str, Any]] = []
    labels: dict[str, str] = {}
    addresses: list[str] = []
    if active is not None:
        addresses = [
            f"127.0.0.1:{r.host_port}"
            for r in sorted(active.replicas, key=lambda r: r.index)
            if r.running and r.host_port
        ]
        labels = {"job": job, "environment": environment, "release": active.release[:12]}
        if addresses:
            groups.append({"targets": addresses, "labels": labels})
    try:
        _write_atomically(Path(path), groups)
    except OSError as exc:
        raise AdapterError(
            "prometheus file_sd",
            f"writing {path}",
            str(exc),
            hint="check target.local.prometheus_file_sd (or BMAD_PROMETHEUS_FILE_SD_DIR) names a writable folder",
        ) from None
    return {"path": path, "targets": addresses, "labels": labels}


def _write_atomically(path: Path, groups: list[dict[str, Any]]) -> None:
    """Temp file, then rename (core.files): Prometheus sees the old file or the new one, never half."""
    write_atomic(path, json.dumps(groups, indent=2) + "\n", 0o644, dir_mode=0o755)
