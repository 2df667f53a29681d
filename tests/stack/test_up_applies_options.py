"""``bmad stack up --scrape/--rules`` on a running stack applies them to the running Prometheus."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.helpers import HELLO_DIR, free_port


def _scraped(prometheus_url: str) -> set[tuple[str, str]]:
    data = requests.get(f"{prometheus_url}/api/v1/targets?state=active", timeout=10).json()
    return {(t["scrapePool"], t["discoveredLabels"]["__address__"]) for t in data["data"]["activeTargets"]}


@pytest.mark.stack
def test_up_with_new_scrape_targets_reconfigures_a_running_prometheus(stack: Any) -> None:
    from bmad.stack import up

    previous_targets = dict(stack.settings.scrape_targets)
    previous_rules = list(stack.settings.rule_files)
    pid = stack.status(["prometheus"])[0].pid
    wanted = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    rules = str(HELLO_DIR / "monitoring" / "recording.yml")
    try:
        again = up(stack.root, scrape_targets={"probe-job": wanted}, rule_files=[rules])
        assert again.status(["prometheus"])[0].pid == pid  # the same process, reloaded
        deadline = time.monotonic() + 15
        while {("probe-job", t) for t in wanted} - _scraped(stack.prometheus_url):
            assert time.monotonic() < deadline, _scraped(stack.prometheus_url)
            time.sleep(0.1)
        groups = requests.get(f"{stack.prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert [g["name"] for g in groups] == ["hello.recording"]
    finally:
        stack.set_scrape_targets(previous_targets)
        stack.set_rule_files(previous_rules)
