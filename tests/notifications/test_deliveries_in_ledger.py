"""Deliveries live in the ledger: a team's shared ledger carries them, and the runbook made again
from the ledger alone (the state folder gone) lists who was told (real git, SQLite or the session's
PostgreSQL, the scripted test phases, a local receiver, the real CLI)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bmad.engine import run_release
from bmad.ledger import Ledger
from tests.engine.support import bmad
from tests.notifications.receivers import http_receiver
from tests.notifications.test_run_notifier import service_with_channels

HOOK = "        - {name: ops-hook, type: webhook, url: {env: HOOK_URL}}\n"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_deliveries_are_kept_in_the_ledger_and_a_runbook_from_it_alone_lists_them(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Guards issue 15: deliveries went to ``notifications.jsonl`` in the state folder, so a shared
    ledger did not carry them and a runbook made on another machine had an empty "Team notified" row."""
    url = request.getfixturevalue("postgres_db") if backend == "postgresql" else f"sqlite:///{tmp_path}/team.db"
    monkeypatch.setenv("BMAD_LEDGER_URL", url)
    with http_receiver(200) as hook:
        monkeypatch.setenv("HOOK_URL", hook.url("/bmad/planted-Hook-Path-51"))
        service = service_with_channels(tmp_path / "svc", HOOK)
        outcome = run_release(service / "bmad.yaml", "dev")
    assert outcome.passed and len(hook.received) == 2
    with Ledger.open(url) as ledger:
        kept = ledger.deliveries(outcome.release)
    assert [(r.channel, r.channel_type, r.event, r.delivered) for r in kept] == [
        ("ops-hook", "webhook", "run_started", True),
        ("ops-hook", "webhook", "succeeded", True),
    ]
    shutil.rmtree(service / ".bmad")  # another machine: only the ledger is shared
    version = outcome.release.version
    env = {"BMAD_LEDGER_URL": url}
    runbook = bmad("runbook", version, "-c", "bmad.yaml", "-e", "dev", cwd=service, env=env)
    assert runbook.returncode == 0, runbook.stderr[-2000:]
    row = next(line for line in runbook.stdout.splitlines() if "Team notified" in line)
    assert "to ops-hook (webhook) at" in row and "run_started" in row and "succeeded" in row
    history = bmad("history", "-c", "bmad.yaml", "-e", "dev", "--json", cwd=service, env=env)
    assert history.returncode == 0, history.stderr[-2000:]
    [release] = json.loads(history.stdout)["releases"]
    assert [(n["channel"], n["event"]) for n in release["notifications"]] == [
        ("ops-hook", "run_started"),
        ("ops-hook", "succeeded"),
    ]
    assert "planted-Hook-Path" not in runbook.stdout + history.stdout
    assert not list(service.rglob("notifications.jsonl"))
