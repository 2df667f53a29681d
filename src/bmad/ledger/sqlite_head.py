"""A new SQLite ledger created at the head revision with sqlite3, without SQLAlchemy or Alembic.

``migrations/head.sqlite.sql`` holds the schema that ``alembic upgrade head`` leaves in a new
SQLite file; ``tests/ledger/test_sqlite_head.py`` creates a ledger both ways and fails when the two
differ (after a new migration, write the new schema there). Creating is one ``BEGIN IMMEDIATE``
transaction, so processes that open the same new file at once create its tables once; a file that
already holds any table, or is not an SQLite database, is left to the migrations.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bmad.ledger.reader import HEAD_REVISION, connect

SCHEMA_FILE = Path(__file__).parent / "migrations" / "head.sqlite.sql"


def head_statements() -> list[str]:
    """The statements of the head schema, in order, without comments."""
    lines = [line for line in SCHEMA_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";\n") if statement.strip()]


def create_at_head(path: Path) -> None:
    """Create the ledger's tables in a new (or empty) SQLite file; anything else is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM sqlite_master").fetchone() is None:
                    for statement in head_statements():
                        db.execute(statement)
                    db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD_REVISION,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except sqlite3.Error:
        return  # not a database this can write: opening it through the migrations says why
