"""Opening the database: SQLite pragmas and locking, migrations on open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError, SQLAlchemyError

from bmad.core.errors import ConfigError, Unreachable
from bmad.core.redact import redact
from bmad.ledger.reader import HEAD_REVISION

_MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"ledger URL is not a database URL: {redact(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        _sqlite_events(engine)
        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        return create_engine(url, **kwargs)
    except (ImportError, SQLAlchemyError) as exc:
        raise ConfigError(f"ledger URL cannot be used: {redact(str(exc))}") from None


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE: writers then queue on the
        # database lock (busy timeout) instead of failing when a read transaction upgrades.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. Cheap when it already is (Alembic is not imported)."""
    try:
        if _current_revision(engine) == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Two processes opening a fresh database at once: one migrates, the other waits.
                connection.execute(text("SELECT pg_advisory_xact_lock(7244516)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise Unreachable("ledger", "opening the database", redact(str(exc.orig))) from None
    except DatabaseError as exc:  # e.g. a ledger file that is not an SQLite database
        raise ConfigError(
            f"the ledger cannot be opened: {redact(str(exc.orig))}",
            file=engine.url.database if engine.dialect.name == "sqlite" else None,
            hint="point ledger.url (or BMAD_LEDGER_URL) at a bmad ledger, or move the file away",
        ) from None


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        connection.rollback()
        return str(row[0]) if row else None
