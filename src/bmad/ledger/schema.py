"""The ledger's tables (SQLAlchemy 2 ORM). Changed only through an Alembic migration.

``phase_runs`` and ``rollbacks`` rows form one hash chain (ordered by ``chain_seq``): each
finished record's ``hash`` covers its canonical content and the previous record's hash;
``chain_head`` remembers the newest link so that deleting the last record is noticed too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class ReleaseRow(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("service", "environment", "version", name="uq_release"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(63))
    environment: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(64))
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    commit_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    runs: Mapped[list[PhaseRunRow]] = relationship(back_populates="release", order_by="PhaseRunRow.id")
    rollbacks: Mapped[list[RollbackRow]] = relationship(back_populates="release", order_by="RollbackRow.id")


class PhaseRunRow(Base):
    __tablename__ = "phase_runs"
    __table_args__ = (Index("ix_phase_runs_release_phase", "release_id", "phase"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    phase: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    forced_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    evidence_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    chain_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Who ran it (revision 0002): the CI user or local user, the CI run's page, what started it.
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ci_run_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    ci_trigger: Mapped[str | None] = mapped_column(String(64), nullable=True)

    release: Mapped[ReleaseRow] = relationship(back_populates="runs")
    checks: Mapped[list[CheckResultRow]] = relationship(
        back_populates="run", order_by="CheckResultRow.position", cascade="all, delete-orphan"
    )
    spans: Mapped[list[SpanRow]] = relationship(
        back_populates="run", order_by="SpanRow.position", cascade="all, delete-orphan"
    )


class CheckResultRow(Base):
    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phase_run_id: Mapped[int] = mapped_column(ForeignKey("phase_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    check_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # The whole CheckResult (summary, expected, observed, fix, evidence, metrics, artifacts ...), redacted.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    run: Mapped[PhaseRunRow] = relationship(back_populates="checks")


class SpanRow(Base):
    """One wait of a phase run on another system (not part of the hash chain: timing, not outcome)."""

    __tablename__ = "phase_spans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phase_run_id: Mapped[int] = mapped_column(ForeignKey("phase_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)

    run: Mapped[PhaseRunRow] = relationship(back_populates="spans")


class RollbackRow(Base):
    __tablename__ = "rollbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    from_version: Mapped[str] = mapped_column(String(64))
    to_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mttr_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    chain_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    release: Mapped[ReleaseRow] = relationship(back_populates="rollbacks")


class NotificationRow(Base):
    """One notification delivery of a release (revision 0004; not part of the hash chain: a side effect)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(200))
    channel_type: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)


class LockRow(Base):
    __tablename__ = "locks"

    service: Mapped[str] = mapped_column(String(63), primary_key=True)
    environment: Mapped[str] = mapped_column(String(63), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChainHeadRow(Base):
    """One row (id 1): the newest link of the hash chain."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")
