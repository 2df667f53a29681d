"""A release's notification deliveries through the ORM (PostgreSQL, or SQLite before its migration).

The same rows and records as :mod:`bmad.ledger.deliveries` writes and reads with ``sqlite3``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select

from bmad.core.models import Release
from bmad.ledger.deliveries import delivery_record, redacted
from bmad.ledger.schema import NotificationRow, ReleaseRow
from bmad.ledger.transactions import Database
from bmad.ports.notifications import DeliveryRecord


def add_deliveries(db: Database, release_id: int, records: Sequence[DeliveryRecord]) -> None:
    """Add ``records`` (redacted) to release ``release_id``, in one transaction."""
    with db.tx() as session:
        for record in map(redacted, records):
            session.add(
                NotificationRow(
                    release_id=release_id,
                    event=record.event,
                    title=record.title,
                    channel=record.channel,
                    channel_type=record.channel_type,
                    sent_at=record.sent_at,
                    delivered=record.delivered,
                    attempts=record.attempts,
                    reason=record.reason,
                )
            )


def release_deliveries(db: Database, release: Release) -> list[DeliveryRecord]:
    """The release's deliveries, oldest first."""
    query = (
        select(NotificationRow)
        .join(ReleaseRow, ReleaseRow.id == NotificationRow.release_id)
        .where(
            ReleaseRow.service == release.service,
            ReleaseRow.environment == release.environment,
            ReleaseRow.version == release.version,
        )
        .order_by(NotificationRow.id)
    )
    with db.tx() as session:
        rows = session.scalars(query).all()
        return [
            delivery_record(r.event, r.title, r.channel, r.channel_type, r.sent_at, r.delivered, r.attempts, r.reason)
            for r in rows
        ]


def deliveries_of(db: Database, release_ids: Collection[int]) -> dict[int, list[DeliveryRecord]]:
    """The deliveries of each release of ``release_ids`` (ledger ids), oldest first, in one query."""
    found: dict[int, list[DeliveryRecord]] = {release_id: [] for release_id in release_ids}
    query = select(NotificationRow).where(NotificationRow.release_id.in_(list(found))).order_by(NotificationRow.id)
    with db.tx() as session:
        for r in session.scalars(query).all():
            record = delivery_record(
                r.event, r.title, r.channel, r.channel_type, r.sent_at, r.delivered, r.attempts, r.reason
            )
            found[r.release_id].append(record)
    return found
