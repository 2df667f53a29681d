"""The generic webhook: a signed JSON body, retried with back-off on 5xx and 429, not on 4xx."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from bmad.adapters.notify import DeliveryPolicy
from bmad.adapters.notify.webhook import WebhookNotifier
from bmad.ports.notifications import DeliveryFailed, Notification
from tests.notifications.receivers import http_receiver

KEY = "hmac-key-for-tests-5e1f"


def verify(headers: dict[str, str], body: bytes, key: str) -> bool:
    """What a receiver does: recompute the HMAC over ``<timestamp>.<raw body>``, compare in constant time."""
    timestamp = headers["X-Bmad-Timestamp"]
    expected = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Bmad-Signature"], "sha256=" + expected)


def test_the_body_is_the_notification_signed_with_a_timestamp(
    notification: Notification, policy: DeliveryPolicy
) -> None:
    with http_receiver(204) as receiver:
        WebhookNotifier(receiver.url(), policy, secret=KEY).send(notification)
    [request] = receiver.received
    assert verify(request.headers, request.body, KEY)
    assert not verify(request.headers, request.body.replace(b"staging", b"producti"), KEY)
    assert abs(int(request.headers["X-Bmad-Timestamp"]) - time.time()) < 60
    body = request.json()
    assert body["event"] == "gate_failed" and body["version"] == notification.version
    assert body["facts"]["Environment"] == "staging"
    assert body["report_url"] == notification.report_url


def test_a_500_then_a_200_is_retried_and_each_attempt_is_signed(
    notification: Notification, policy: DeliveryPolicy
) -> None:
    """Guards the retry with back-off: the first answer (500) is not the end of it."""
    with http_receiver(500, 429, 200) as receiver:
        attempts = WebhookNotifier(receiver.url(), policy, secret=KEY).send(notification)
    assert attempts == 3 and len(receiver.received) == 3
    assert all(verify(r.headers, r.body, KEY) for r in receiver.received)


def test_a_4xx_is_not_retried_and_the_reason_names_the_status(
    notification: Notification, policy: DeliveryPolicy
) -> None:
    with http_receiver(404) as receiver, pytest.raises(DeliveryFailed) as failed:
        WebhookNotifier(receiver.url(), policy, secret=None).send(notification)
    assert failed.value.reason == "HTTP 404" and failed.value.attempts == 1
    assert "X-Bmad-Signature" not in receiver.received[0].headers  # no secret, no signature


def test_retries_end_within_the_overall_bound(notification: Notification) -> None:
    bounded = DeliveryPolicy(attempt_timeout=5.0, total_timeout=1.0, retries=10, backoff=0.2)
    started = time.monotonic()
    with http_receiver(503) as receiver, pytest.raises(DeliveryFailed) as failed:
        WebhookNotifier(receiver.url(), bounded, secret=KEY).send(notification)
    assert time.monotonic() - started < 2.0
    assert failed.value.reason.startswith("HTTP 503 (gave up after")
    assert 1 < failed.value.attempts == len(receiver.received) < 11
