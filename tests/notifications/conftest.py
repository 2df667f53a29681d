"""Fixtures of the notification tests: a notification to send and a short delivery policy."""

from __future__ import annotations

import pytest

from bmad.adapters.notify import DeliveryPolicy
from bmad.ports.notifications import Notification


@pytest.fixture
def notification() -> Notification:
    return Notification(
        event="gate_failed",
        service="hello",
        environment="staging",
        version="0123456789abcdef0123456789abcdef01234567",
        title="hello 0123456 in staging stopped at MEASURE",
        text="MEASURE failed (measure.load_test); the run stopped at MEASURE",
        facts=(("Service", "hello"), ("Environment", "staging"), ("Version", "0123456")),
        report_url="https://reports.example.com/hello/staging/0123456/report.html",
        good=False,
    )


@pytest.fixture
def policy() -> DeliveryPolicy:
    return DeliveryPolicy(attempt_timeout=2.0, total_timeout=5.0, retries=3, backoff=0.05)
