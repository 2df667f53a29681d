"""Retrying one notification with back-off, within an overall bound.

A transport makes one attempt with the time it is given and raises :class:`AttemptFailed` (temporary
or not); :func:`deliver` retries the temporary ones with exponential back-off until the retries or
the overall time are spent, and then raises :class:`~bmad.ports.notifications.DeliveryFailed`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bmad.core.datatypes import datatype
from bmad.ports.notifications import DeliveryFailed


@datatype(frozen=True)
class DeliveryPolicy:
    attempt_timeout: float
    total_timeout: float
    retries: int
    backoff: float = 0.5


class AttemptFailed(Exception):
    """One attempt failed; ``reason`` never names the channel's URL."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


def deliver(
    policy: DeliveryPolicy,
    attempt: Callable[[float], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Call ``attempt(timeout)`` until it succeeds; returns the number of attempts made."""
    deadline = clock() + policy.total_timeout
    attempts = 0
    while True:
        attempts += 1
        remaining = max(deadline - clock(), 0.001)
        try:
            attempt(min(policy.attempt_timeout, remaining))
            return attempts
        except AttemptFailed as exc:
            if not exc.temporary:
                raise DeliveryFailed(exc.reason, attempts=attempts) from None
            if attempts > policy.retries:
                raise DeliveryFailed(f"{exc.reason} (gave up after {attempts} attempts)", attempts=attempts) from None
            delay = policy.backoff * 2 ** (attempts - 1)
            if clock() + delay >= deadline:
                raise DeliveryFailed(
                    f"{exc.reason} (gave up after {attempts} attempts: {policy.total_timeout:g} s spent)",
                    attempts=attempts,
                ) from None
            sleep(delay)
