"""bmad's own metrics: one Pushgateway group per ledger, and no push (with the reason) without a gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from bmad.adapters.own_metrics import ledger_group_id, push_own_metrics
from bmad.config import load_config_text
from bmad.engine.publish import publish_release_outputs
from bmad.ledger import Ledger
from bmad.reports.outputs import own_metrics_snapshot
from tests.reports.reports_data import NOW, SPECS, record


def _ledger(path: Path) -> Ledger:
    ledger = Ledger.open(f"sqlite:///{path}", clock=lambda: NOW)
    for spec in SPECS[:2]:
        record(ledger, spec)
    return ledger


def test_ledger_id_is_stable_and_hides_credentials() -> None:
    assert ledger_group_id("sqlite:////a/ledger.db") == ledger_group_id("sqlite:////a/ledger.db")
    assert ledger_group_id("sqlite:////a/ledger.db") != ledger_group_id("sqlite:////b/ledger.db")
    with_password = ledger_group_id("postgresql://bmad:s3cret@db/ledger")
    assert with_password == ledger_group_id("postgresql://db/ledger") and "s3cret" not in with_password


@pytest.mark.stack
def test_two_ledgers_with_the_same_service_keep_their_own_counters(stack: Any, tmp_path: Path) -> None:
    """Guards: groups were keyed by (job, service, env) only, so two checkouts overwrote each other's counters."""
    ledgers = [_ledger(tmp_path / "one.db"), _ledger(tmp_path / "two.db")]
    ids = [ledger_group_id(ledger.url) for ledger in ledgers]
    try:
        for ledger, ledger_id in zip(ledgers, ids, strict=True):
            snapshot = own_metrics_snapshot(ledger, SPECS[1].version)
            push_own_metrics(stack.pushgateway_url, **snapshot.as_kwargs(), ledger_id=ledger_id)
        text = requests.get(f"{stack.pushgateway_url}/metrics", timeout=10).text
        for ledger_id in ids:
            assert f'ledger="{ledger_id}"' in text
    finally:
        for ledger, ledger_id in zip(ledgers, ids, strict=True):
            url = f"{stack.pushgateway_url}/metrics/job/bmad/service/hello/env/dev/ledger/{ledger_id}"
            requests.delete(url, timeout=10)
            ledger.close()


def test_no_pushgateway_skips_the_push_and_says_why(tmp_path: Path) -> None:
    """Guards: with no Pushgateway configured the own-metrics push went to the default URL."""
    ledger = _ledger(tmp_path / "ledger.db")
    try:
        config = load_config_text("service: {name: hello}\nenvironments: {dev: {}}\n", source=str(tmp_path / "b.yaml"))
        release = ledger.list_releases(service="hello", environment="dev")[0].release
        published = publish_release_outputs(config, "dev", release, ledger)
        assert not published.pushed
        assert published.push_skipped == "no Pushgateway configured (environments.dev.monitoring.pushgateway_url)"
    finally:
        ledger.close()
