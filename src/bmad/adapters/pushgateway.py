"""The Prometheus Pushgateway: push one group of metrics, delete it again."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from bmad.adapters._http import HttpClient

SYSTEM = "pushgateway"


def group_path(job: str, grouping: Mapping[str, str] | None = None) -> str:
    """``/metrics/job/<job>/<label>/<value>...`` with every part escaped (``@base64`` is not needed for these)."""
    if not job:
        raise ValueError("a job name is required")
    path = "/metrics/job/" + quote(job, safe="")
    for key, value in (grouping or {}).items():
        path += f"/{quote(key, safe='')}/{quote(value, safe='')}"
    return path


class PushgatewayClient:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = HttpClient(SYSTEM, self.url, timeout=timeout)

    def ready(self) -> bool:
        response = self._http.request("GET", "/-/ready", action="readiness check", expect=(200, 503))
        return bool(response.status_code == 200)

    def push(self, job: str, text: str, *, grouping: Mapping[str, str] | None = None) -> None:
        body = text if text.endswith("\n") else text + "\n"
        self._http.request(
            "PUT",
            group_path(job, grouping),
            action=f"pushing metrics for job {job}",
            expect=(200, 202),
            data=body.encode("utf-8"),
            headers={"Content-Type": "text/plain; version=0.0.4"},
        )

    def delete(self, job: str, *, grouping: Mapping[str, str] | None = None) -> None:
        self._http.request(
            "DELETE", group_path(job, grouping), action=f"deleting group of job {job}", expect=(200, 202)
        )

    def close(self) -> None:
        self._http.close()
