"""One POST of a notification through bmad's HTTP client, its failures as :class:`AttemptFailed`.

The reason of a failure is built here from the status or the kind of failure, never from the
HTTP library's message: that may quote the webhook URL, whose path is the credential.
"""

from __future__ import annotations

from collections.abc import Mapping

from bmad.adapters._http import HttpClient
from bmad.adapters.notify.delivery import AttemptFailed
from bmad.core.errors import AdapterError, Unreachable

ACCEPTED = (200, 201, 202, 204)


def post(system: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    """POST ``body`` to ``url``; raise :class:`AttemptFailed` unless the answer is a 2xx."""
    client = HttpClient(system, url, timeout=timeout)
    try:
        client.request("POST", url, action=f"{system} notification", expect=ACCEPTED, data=body, headers=dict(headers))
    except Unreachable as exc:
        timed_out = "timed out" in exc.detail.lower() or "timeout" in exc.detail.lower()
        reason = f"no answer within {timeout:.3g} s" if timed_out else "could not connect"
        raise AttemptFailed(reason, temporary=True) from None
    except AdapterError as exc:
        raise AttemptFailed(f"HTTP {exc.status}", temporary=exc.temporary) from None
    finally:
        client.close()
