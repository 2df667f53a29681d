"""A generic webhook: the notification as a JSON body, signed.

Headers: ``X-Bmad-Timestamp`` (Unix seconds) and ``X-Bmad-Signature: sha256=<hex>``, the
HMAC-SHA256 with the channel's signing secret of ``<timestamp>.<body>``. A receiver recomputes
it over the raw body, compares in constant time and refuses old timestamps (replays).
A new timestamp and signature are made for each attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from bmad.adapters.notify.delivery import DeliveryPolicy, deliver
from bmad.adapters.notify.http_post import post
from bmad.ports.notifications import Notification

SIGNATURE_HEADER = "X-Bmad-Signature"
TIMESTAMP_HEADER = "X-Bmad-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``<timestamp>.<body>`` keyed with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookNotifier:
    def __init__(
        self, url: str, policy: DeliveryPolicy, *, secret: str | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._url = url
        self._policy = policy
        self._secret = secret
        self._clock = clock

    def send(self, notification: Notification) -> int:
        body = json.dumps(notification.to_dict(), sort_keys=True).encode("utf-8")
        return deliver(self._policy, lambda timeout: self._attempt(body, timeout))

    def _attempt(self, body: bytes, timeout: float) -> None:
        timestamp = str(int(self._clock()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(self._secret, timestamp, body)
        post("webhook", self._url, body, headers, timeout)
