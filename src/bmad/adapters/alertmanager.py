"""Alertmanager: readiness and status (API v2)."""

from __future__ import annotations

from typing import Any

from bmad.adapters._http import HttpClient
from bmad.core.errors import AdapterError

SYSTEM = "alertmanager"


def base_url(alerts_url: str) -> str:
    """The Alertmanager's base URL from the push URL Prometheus reports (``.../api/v2/alerts``)."""
    url = alerts_url.rstrip("/")
    for suffix in ("/api/v2/alerts", "/api/v1/alerts"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


class AlertmanagerClient:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def ready(self, url: str) -> bool:
        http = HttpClient(SYSTEM, base_url(url), timeout=self.timeout)
        try:
            response = http.request("GET", "/-/ready", action="readiness check", expect=(200, 503))
            return bool(response.status_code == 200)
        finally:
            http.close()

    def status(self, url: str) -> dict[str, Any]:
        http = HttpClient(SYSTEM, base_url(url), timeout=self.timeout)
        try:
            data = http.get_json("/api/v2/status", action="reading status")
        finally:
            http.close()
        if not isinstance(data, dict):
            raise AdapterError(SYSTEM, "reading status", "answer is not a JSON object")
        return data
