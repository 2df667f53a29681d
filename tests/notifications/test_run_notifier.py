"""The engine sends at a run's events and records every delivery; an undeliverable notification
never fails a release (real git, SQLite, the scripted test phases and local receivers)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bmad.core.errors import ExitCode
from bmad.core.redact import forget_secrets
from bmad.engine import run_release
from bmad.ledger import Ledger
from tests.engine.support import CONFIG, git, make_service
from tests.notifications.receivers import HANG, http_receiver, smtp_receiver

SECRET_PATH = "/services/T0BMAD/B0BMAD/planted-Webhook-Secret-3f9c"


def service_with_channels(root: Path, channels: str, *, bound: str = "") -> Path:
    """The scripted test service, its dev environment notifying ``channels`` (YAML list items)."""
    service = make_service(root)
    config = CONFIG.format(lease=30.0).replace(
        "  dev:\n    risk: low\n",
        "  dev:\n    risk: low\n    notifications:\n"
        "      report_base_url: https://reports.example.com/bmad/\n"
        f"{bound}      channels:\n{channels}",
    )
    (service / "bmad.yaml").write_text(config, encoding="utf-8")
    git(service, "commit", "-qam", "notify")
    return service


@pytest.fixture(autouse=True)
def _forget_secrets() -> object:
    yield None
    forget_secrets()


def test_start_and_success_go_to_every_channel_and_the_runbook_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with http_receiver(200) as slack, http_receiver(202) as teams, smtp_receiver(tmp_path) as smtp:
        monkeypatch.setenv("SLACK_URL", slack.url(SECRET_PATH))
        monkeypatch.setenv("TEAMS_URL", teams.url("/workflows/x"))
        monkeypatch.setenv("SMTP_USER", "bmad")
        monkeypatch.setenv("SMTP_PASSWORD", "mail-Pa55word-77")
        channels = (
            "        - {name: ops-slack, type: slack, url: {env: SLACK_URL}}\n"
            "        - {name: ops-teams, type: teams, url: {env: TEAMS_URL}, events: [succeeded]}\n"
            f"        - {{name: ops-mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp.port},"
            f" ca_file: {smtp.cert}, from_address: bmad@example.invalid, to: [ops@example.invalid],"
            " username: {env: SMTP_USER}, password: {env: SMTP_PASSWORD}}\n"
        )
        service = service_with_channels(tmp_path / "svc", channels)
        outcome = run_release(service / "bmad.yaml", "dev")
    assert outcome.exit_code is ExitCode.OK
    sent = [(r.event, r.channel, r.delivered) for r in outcome.notifications]
    assert sorted(sent) == [
        ("run_started", "ops-mail", True),
        ("run_started", "ops-slack", True),
        ("succeeded", "ops-mail", True),
        ("succeeded", "ops-slack", True),
        ("succeeded", "ops-teams", True),
    ]
    short = outcome.release.short_version
    link = f"https://reports.example.com/bmad/hello/dev/{short}/report.html"
    started, succeeded = (r.json() for r in slack.received)
    assert started["blocks"][0]["text"]["text"] == f"hello {short} in dev started"
    assert succeeded["blocks"][0]["text"]["text"] == f"hello {short} in dev deployed"
    assert succeeded["blocks"][-1]["elements"][0]["url"] == link
    assert len(teams.received) == 1 and len(smtp.messages) == 2
    runbook = (service / ".bmad" / "reports" / "hello" / "dev" / short / "runbook.md").read_text()
    row = next(line for line in runbook.splitlines() if "Team notified" in line)
    assert f'succeeded "hello {short} in dev deployed" to ops-teams (teams) at ' in row
    assert "run_started" in row and "ops-mail (email)" in row and "NOT delivered" not in row


def test_an_unanswered_webhook_does_not_fail_the_release_and_its_url_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards: a receiver that accepts and never answers leaves the release passing, the failure
    recorded within the bound, and the webhook URL (a secret) out of every output."""
    bound = "      attempt_timeout_seconds: 0.5\n      delivery_timeout_seconds: 1.5\n"
    with http_receiver(HANG) as hook:
        url = hook.url(SECRET_PATH)
        monkeypatch.setenv("HOOK_URL", url)
        monkeypatch.setenv("HOOK_KEY", "hmac-Key-for-the-Hook-77")
        channels = "        - {name: ci-hook, type: webhook, url: {env: HOOK_URL}, signing_secret: {env: HOOK_KEY}}\n"
        service = service_with_channels(tmp_path / "svc", channels, bound=bound)
        started = time.monotonic()
        outcome = run_release(service / "bmad.yaml", "dev")
        elapsed = time.monotonic() - started
    assert outcome.exit_code is ExitCode.OK
    assert [(r.event, r.delivered) for r in outcome.notifications] == [("run_started", False), ("succeeded", False)]
    assert all(r.reason.startswith("no answer within 0.") for r in outcome.notifications), outcome.notifications
    assert elapsed < 2 * 1.5 + 10  # two bounded deliveries plus the run itself
    with Ledger.open(state_dir=service / ".bmad") as ledger:
        kept = ledger.deliveries(outcome.release)
    assert [(r.channel, r.delivered) for r in kept] == [("ci-hook", False), ("ci-hook", False)]
    runbook = next((service / ".bmad" / "reports").rglob("runbook.md")).read_text()
    assert "to ci-hook (webhook) at" in runbook and "NOT delivered: no answer within 0." in runbook
    leaks = [str(p) for p in (service / ".bmad").rglob("*") if p.is_file() and b"planted-Webhook" in p.read_bytes()]
    leaks += [str(p) for p in (service / ".git").rglob("*") if p.is_file() and b"planted-Webhook" in p.read_bytes()]
    assert leaks == []
    assert "planted-Webhook" not in json.dumps(outcome.to_dict()) + git(service, "log", "-p", "bmad/records")


def test_a_failed_gate_and_a_rollback_are_told_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also guards the retry in a run: the receiver answers 500 first, the gate's notice arrives on the second try."""
    with http_receiver(500, 200) as hook:
        monkeypatch.setenv("HOOK_URL", hook.url())
        channels = (
            "        - {name: ci-hook, type: webhook, url: {env: HOOK_URL}, events: [gate_failed, rolled_back]}\n"
        )
        service = service_with_channels(tmp_path / "svc", channels)
        failed = run_release(service / "bmad.yaml", "dev", options={"x_measure_status": "fail"})
        rolled = run_release(service / "bmad.yaml", "dev", resume=True, options={"x_deploy_rollback": True})
    assert failed.exit_code is ExitCode.GATE_FAILED and rolled.exit_code is ExitCode.GATE_FAILED
    assert [(r.event, r.delivered, r.attempts) for r in failed.notifications] == [("gate_failed", True, 2)]
    refused, gate, rollback = (r.json() for r in hook.received)
    assert refused == gate
    short = failed.release.short_version
    assert gate["event"] == "gate_failed" and gate["title"] == f"hello {short} in dev stopped at MEASURE"
    assert "measure.c1" in gate["text"]
    assert rollback["event"] == "rolled_back" and rollback["title"] == f"hello {short} in dev rolled back"
    assert rollback["text"] == "DEPLOY rolled back: error rate above threshold"
