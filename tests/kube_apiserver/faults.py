"""Faults a test asks for: 429 with Retry-After, 500/503, slow answers, dropped connections.

A rule matches requests by method and a regex searched in the path with its query string and
fires on every Nth match (and at most ``times`` times). Answers are worded as the real server's:
429 ``TooManyRequests`` with a ``Retry-After`` header and ``details.retryAfterSeconds`` (the API
Priority and Fairness reject, https://kubernetes.io/docs/concepts/cluster-administration/flow-control/),
500 ``InternalError``, 503 ``ServiceUnavailable``.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

KINDS = ("429", "500", "503", "slow", "drop")


class DropConnection(Exception):
    """Close the connection without an answer."""


@dataclass
class FaultRule:
    """One rule: what to do, on which requests, how often."""

    kind: str
    path: str = ".*"
    method: str = ""
    every: int = 1
    times: int = 0
    delay: float = 0.0
    retry_after: int = 1
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FaultRule:
        kind = str(body.get("kind", ""))
        if kind not in KINDS:
            raise ApiError(400, "BadRequest", f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        return cls(
            kind,
            str(body.get("path", ".*")),
            str(body.get("method", "")).upper(),
            int(body.get("every", 1)),
            int(body.get("times", 0)),
            float(body.get("delay", 0.0)),
            int(body.get("retryAfter", 1)),
        )

    def due(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if not re.search(self.path, path) or (self.times and self.fired >= self.times):
            return False
        self.seen += 1
        if self.seen % max(1, self.every):
            return False
        self.fired += 1
        return True


@dataclass
class Faults:
    """The rules in force; ``check`` runs before every API request."""

    rules: list[FaultRule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, rules: list[FaultRule]) -> None:
        with self.lock:
            self.rules = rules

    def check(self, method: str, path: str) -> None:
        with self.lock:
            due = [r for r in self.rules if r.due(method, path)]
        for rule in due:
            _fire(rule)


def _fire(rule: FaultRule) -> None:
    if rule.kind == "slow":
        time.sleep(rule.delay)
    elif rule.kind == "drop":
        raise DropConnection()
    elif rule.kind == "429":
        raise ApiError(
            429, "TooManyRequests", "Too many requests, please try again later.", retry_after=rule.retry_after
        )
    elif rule.kind == "500":
        raise ApiError(500, "InternalError", "Internal error occurred: injected fault")
    else:
        raise ApiError(
            503,
            "ServiceUnavailable",
            "The server is currently unable to handle the request",
            retry_after=rule.retry_after,
        )
