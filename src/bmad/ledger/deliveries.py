"""A release's notification deliveries in the ledger (table ``notifications``, revision 0004).

One row per delivery: channel name and type, event, headline, time, delivered, attempts, reason;
never the channel's URL, every text redacted before it is written. Deliveries are side effects,
like spans: they are not links of the hash chain. This module is the stdlib ``sqlite3`` path (a
SQLite ledger at the code's revision); :mod:`bmad.ledger.delivery_rows` is the ORM path. Both
return equal records (``tests/ledger/test_deliveries.py``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from bmad.config.notifications import ChannelType, NotificationEvent
from bmad.core.models import Release
from bmad.core.redact import redact
from bmad.ledger.reader import connect, required_when, stored
from bmad.ports.notifications import DeliveryRecord

_INSERT = (
    "INSERT INTO notifications"
    " (release_id, event, title, channel, channel_type, sent_at, delivered, attempts, reason)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT n.event, n.title, n.channel, n.channel_type, n.sent_at, n.delivered, n.attempts, n.reason"
    " FROM notifications n JOIN releases r ON r.id = n.release_id"
    " WHERE r.service = ? AND r.environment = ? AND r.version = ? ORDER BY n.id"
)
_SELECT_OF = (
    "SELECT release_id, event, title, channel, channel_type, sent_at, delivered, attempts, reason"
    " FROM notifications WHERE release_id IN (SELECT value FROM json_each(?)) ORDER BY id"
)


def redacted(record: DeliveryRecord) -> DeliveryRecord:
    """``record`` as the ledger keeps it: its texts redacted."""
    return DeliveryRecord(
        channel=redact(record.channel),
        channel_type=record.channel_type,
        event=record.event,
        title=redact(record.title),
        sent_at=record.sent_at,
        delivered=record.delivered,
        attempts=record.attempts,
        reason=redact(record.reason),
    )


def delivery_record(
    event: str,
    title: str,
    channel: str,
    channel_type: str,
    sent_at: datetime,
    delivered: Any,
    attempts: int,
    reason: str,
) -> DeliveryRecord:
    """A stored row's values (in the table's column order) as a record."""
    return DeliveryRecord(
        channel=channel,
        channel_type=cast(ChannelType, channel_type),
        event=cast(NotificationEvent, event),
        title=title,
        sent_at=sent_at,
        delivered=bool(delivered),
        attempts=int(attempts),
        reason=reason,
    )


def insert_deliveries(path: Path, release_id: int, records: Sequence[DeliveryRecord]) -> None:
    """Add ``records`` (redacted) to release ``release_id`` in the SQLite ledger at ``path``."""
    from bmad.ledger.sqlite_writer import write_transaction  # a read of the deliveries needs no writer

    rows = [redacted(r) for r in records]
    with write_transaction(path) as db:
        db.executemany(_INSERT, [(release_id, *_values(r)) for r in rows])


def _values(record: DeliveryRecord) -> tuple[object, ...]:
    r = record
    return (r.event, r.title, r.channel, r.channel_type, stored(r.sent_at), r.delivered, r.attempts, r.reason)


def select_deliveries(path: Path, release: Release) -> list[DeliveryRecord]:
    """The release's deliveries in the SQLite ledger at ``path``, oldest first."""
    with closing(connect(path)) as db:
        found = db.execute(_SELECT, (release.service, release.environment, release.version)).fetchall()
    return [
        delivery_record(event, title, channel, kind, required_when(sent_at), delivered, attempts, reason)
        for event, title, channel, kind, sent_at, delivered, attempts, reason in found
    ]


def select_deliveries_of(path: Path, release_ids: Collection[int]) -> dict[int, list[DeliveryRecord]]:
    """The deliveries of each release of ``release_ids`` (ledger ids) in the SQLite ledger at
    ``path``, oldest first, in one query."""
    found: dict[int, list[DeliveryRecord]] = {release_id: [] for release_id in release_ids}
    with closing(connect(path)) as db:
        rows = db.execute(_SELECT_OF, (json.dumps(list(found)),)).fetchall()
    for release_id, event, title, channel, kind, sent_at, delivered, attempts, reason in rows:
        record = delivery_record(event, title, channel, kind, required_when(sent_at), delivered, attempts, reason)
        found[release_id].append(record)
    return found
