"""Alertmanager client against the stack's real Alertmanager."""

from __future__ import annotations

from typing import Any

import pytest

from bmad.adapters.alertmanager import AlertmanagerClient, base_url
from bmad.core.errors import Unreachable
from tests.helpers import free_port


def test_base_url_from_the_push_url_prometheus_reports() -> None:
    assert base_url("http://127.0.0.1:9093/api/v2/alerts") == "http://127.0.0.1:9093"
    assert base_url("http://am:9093/prefix/api/v1/alerts/") == "http://am:9093/prefix"
    assert base_url("http://am:9093") == "http://am:9093"


@pytest.mark.stack
def test_ready_and_status(stack: Any) -> None:
    client = AlertmanagerClient()
    assert client.ready(stack.alertmanager_url + "/api/v2/alerts")
    status = client.status(stack.alertmanager_url)
    assert "versionInfo" in status and "config" in status


def test_unreachable() -> None:
    with pytest.raises(Unreachable):
        AlertmanagerClient(timeout=2).ready(f"http://127.0.0.1:{free_port()}")
