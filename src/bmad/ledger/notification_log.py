"""A release's notifications, beside its evidence: ``<state_dir>/runs/<svc>/<env>/<version>/notifications.jsonl``.

One JSON line per delivery (channel name, type, event, headline, time, delivered, attempts, reason),
redacted, owner-only, rewritten whole on each append. The runbook's "Team notified" row reads it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bmad.core.files import write_atomic
from bmad.core.models import Release
from bmad.core.redact import redact
from bmad.ports.notifications import DeliveryRecord

LOG_NAME = "notifications.jsonl"


def notification_log_path(state_dir: Path, release: Release) -> Path:
    return state_dir / "runs" / release.service / release.environment / release.short_version / LOG_NAME


def append_deliveries(state_dir: Path, release: Release, records: Sequence[DeliveryRecord]) -> Path:
    """Add ``records`` to the release's log."""
    path = notification_log_path(state_dir, release)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = "".join(redact(json.dumps(record.to_dict(), sort_keys=True)) + "\n" for record in records)
    return write_atomic(path, old + new)


def read_deliveries(state_dir: Path, release: Release) -> list[DeliveryRecord]:
    """The release's deliveries, oldest first (none when nothing was sent or the log is unreadable)."""
    path = notification_log_path(state_dir, release)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records: list[DeliveryRecord] = []
    for line in lines:
        try:
            data = json.loads(line)
            records.append(
                DeliveryRecord(
                    channel=str(data["channel"]),
                    channel_type=data["channel_type"],
                    event=data["event"],
                    title=str(data["title"]),
                    sent_at=datetime.fromisoformat(data["sent_at"]),
                    delivered=bool(data["delivered"]),
                    attempts=int(data["attempts"]),
                    reason=str(data.get("reason") or ""),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return records
