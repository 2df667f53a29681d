"""Pushgateway client against the stack's real Pushgateway (and Prometheus scraping it)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from bmad.adapters.prometheus import PrometheusClient
from bmad.adapters.pushgateway import PushgatewayClient, group_path


def test_group_path_escapes_every_part() -> None:
    assert group_path("job one", {"instance": "a/b"}) == "/metrics/job/job%20one/instance/a%2Fb"
    with pytest.raises(ValueError):
        group_path("")


@pytest.mark.stack
def test_push_is_scraped_then_delete_removes_it(stack: Any) -> None:
    gateway = PushgatewayClient(stack.pushgateway_url)
    prom = PrometheusClient(stack.prometheus_url)
    assert gateway.ready()
    name = f"bmad_test_push_{uuid.uuid4().hex[:8]}"
    grouping = {"instance": name}
    gateway.push("bmad_test", f"{name} 42", grouping=grouping)
    deadline = time.monotonic() + 15
    samples: list[Any] = []
    while time.monotonic() < deadline and not samples:
        samples = prom.query(name)
        time.sleep(0.1)
    assert [s.value for s in samples] == [42.0]
    gateway.delete("bmad_test", grouping=grouping)
    import urllib.request

    with urllib.request.urlopen(f"{stack.pushgateway_url}/metrics", timeout=5) as response:
        assert name not in response.read().decode()
