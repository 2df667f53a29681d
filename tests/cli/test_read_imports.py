"""The read commands (``status``, ``history``, ``metrics``) load only what reading needs: every
module they import is part of the wait of a user who only asked a question."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.engine.support import bmad, cli_env, make_service

# modules a read of a SQLite ledger has no use for (each cost 10-60 ms of a ~0.4 s command)
NOT_FOR_READING = (
    "bmad.engine.runner",  # the phase engine: status imported it for two small helpers
    "bmad.engine.phase_run",
    "bmad.engine.outcomes",
    "bmad.ledger.sqlite_writer",  # what a phase writes: built even when nothing is written
    "bmad.ledger.sqlite_locks",
    "getpass",  # only for the OS user name, which pwd gives
    "sqlalchemy",
    "alembic",
)
# the documents of a release: ``metrics`` computes figures, it writes no report or runbook
NOT_FOR_FIGURES = ("bmad.reports.outputs", "bmad.reports.report", "bmad.reports.runbook", "bmad.reports.charts")
# status runs git through the process seam, which captures output in temp files; the others run nothing
NOT_FOR_LEDGER_ONLY = ("tempfile",)  # with shutil and the compression modules: for the log folder and atomic writes


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_service(tmp_path_factory.mktemp("read-imports") / "svc")
    run = bmad("run", "-e", "dev", cwd=repo)
    assert run.returncode == 0, run.stderr
    return repo


@pytest.mark.parametrize(
    ("argv", "unwanted"),
    [
        (["status", "-e", "dev"], NOT_FOR_READING),
        (["history", "-e", "dev"], NOT_FOR_READING + NOT_FOR_LEDGER_ONLY),
        (["history", "-e", "dev", "--json"], NOT_FOR_READING + NOT_FOR_LEDGER_ONLY),
        (["metrics"], NOT_FOR_READING + NOT_FOR_LEDGER_ONLY + NOT_FOR_FIGURES),
    ],
    ids=["status", "history", "history-json", "metrics"],
)
def test_read_commands_import_no_write_side_modules(service: Path, argv: list[str], unwanted: tuple[str, ...]) -> None:
    """Guards the import diet of issue 13: before it, ``bmad status`` imported the phase engine
    (``bmad.engine.runner`` and what it pulls), the SQLite writer and locks, and ``getpass``;
    every command imported ``tempfile`` (and shutil, bz2, lzma) for writes and logs it did not make;
    ``history --json`` imported the SQLite writer to read the deliveries, and ``metrics`` every
    document renderer (runbook, report, charts) to compute figures."""
    script = textwrap.dedent(
        f"""
        import sys
        from bmad.cli.main import main
        code = main({argv!r})
        assert code == 0, code
        print("MODULES", " ".join(sorted(sys.modules)), file=sys.stderr)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=service, env=cli_env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stderr.rsplit("MODULES ", 1)[1].split())
    assert sorted(m for m in unwanted if m in loaded) == []
