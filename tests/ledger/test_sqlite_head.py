"""A new SQLite ledger is created at the head schema with sqlite3 (issue 13: no Alembic on a new file).

The schema written from ``migrations/head.sqlite.sql`` must be the one the migrations build; after a
new migration this test fails until that file holds the new head (copy ``sqlite_master.sql`` of a
file migrated with ``bmad.ledger._db.migrate``).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bmad.core.errors import BmadError
from bmad.ledger import Ledger
from bmad.ledger._db import make_engine, migrate
from bmad.ledger.reader import HEAD_REVISION, stored_revision
from bmad.ledger.sqlite_head import create_at_head


def _schema(path: Path) -> list[tuple[str, str, list[str]]]:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    return [(kind, name, re.findall(r"\w+|[^\s\w]", sql or "")) for kind, name, sql in rows]


def test_the_head_file_builds_the_schema_the_migrations_build(tmp_path: Path) -> None:
    """Guards against a migration added without updating head.sqlite.sql (a new ledger would lack it)."""
    migrated = tmp_path / "migrated.db"
    engine = make_engine(f"sqlite:///{migrated}")
    migrate(engine)
    engine.dispose()
    created = tmp_path / "created.db"
    create_at_head(created)
    assert _schema(created) == _schema(migrated)
    assert stored_revision(created) == stored_revision(migrated) == HEAD_REVISION


def test_opening_a_new_ledger_imports_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    """Before: a new SQLite file was migrated through Alembic (about 0.4 s of imports on every first run)."""
    code = (
        "import sys; from bmad.ledger import Ledger; "
        f"Ledger.open('sqlite:///{tmp_path / 'new' / 'ledger.db'}').close(); "
        "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert stored_revision(tmp_path / "new" / "ledger.db") == HEAD_REVISION


def test_a_ledger_created_at_head_takes_writes(tmp_path: Path) -> None:
    from bmad.core.models import Release

    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        release_id = ledger.ensure_release(Release(service="svc", environment="dev", version="a" * 40))
        assert ledger.ensure_release(Release(service="svc", environment="dev", version="a" * 40)) == release_id
    finally:
        ledger.close()


def test_a_file_with_tables_is_left_to_the_migrations(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE unrelated (x INTEGER)")
        db.commit()
    create_at_head(path)
    assert [name for _, name, _ in _schema(path)] == ["unrelated"]


def test_a_file_that_is_not_a_database_still_gives_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"not a database, " * 512)
    with pytest.raises(BmadError) as raised:
        Ledger.open(f"sqlite:///{path}")
    assert "not a database" in str(raised.value)
    assert path.read_bytes() == b"not a database, " * 512
