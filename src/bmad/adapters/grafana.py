"""Grafana's HTTP API: health, dashboard search/read/import, data sources and their health.

Authentication is a service-account token sent as ``Authorization: Bearer``; the token is
registered for redaction by :meth:`bmad.config.base.SecretRef.resolve` before it gets here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bmad.adapters._http import HttpClient
from bmad.core.errors import AdapterError, ConfigError
from bmad.core.files import read_bounded
from bmad.ports.monitoring import DashboardRef, DataSource, DataSourceHealth

SYSTEM = "grafana"
MAX_DASHBOARD_BYTES = 20 * 1024 * 1024  # the largest public dashboards are a few MB


class _GrafanaHttp(HttpClient):
    """HttpClient whose 401/403 errors say what to do about the token."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return super().request(method, path, **kwargs)
        except AdapterError as exc:
            if exc.status in (401, 403):
                raise AdapterError(
                    exc.system,
                    exc.action,
                    exc.detail,
                    status=exc.status,
                    hint="check the Grafana token (monitoring.grafana.token): a service-account token with the "
                    "Editor role can read and install dashboards",
                ) from None
            raise


class GrafanaClient:
    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = _GrafanaHttp(SYSTEM, self.url, headers=headers, timeout=timeout)

    def health(self) -> dict[str, Any]:
        data = self._http.get_json("/api/health", action="health check", expect=(200, 503))
        return data if isinstance(data, dict) else {}

    def search_dashboards(self, query: str = "") -> list[DashboardRef]:
        params = {"type": "dash-db", "limit": "5000"}
        if query:
            params["query"] = query
        data = self._http.get_json("/api/search", action="searching dashboards", params=params)
        return parse_search(data)

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        response = self._http.request(
            "GET", f"/api/dashboards/uid/{quote(uid, safe='')}", action=f"reading dashboard {uid}", expect=(200, 404)
        )
        if response.status_code == 404:
            return None
        body = _json_of(response, f"reading dashboard {uid}")
        model = body.get("dashboard") if isinstance(body, dict) else None
        return model if isinstance(model, dict) else None

    def install_dashboard(self, model: Mapping[str, Any], *, overwrite: bool = True) -> DashboardRef:
        payload = {"dashboard": {**model, "id": None}, "overwrite": overwrite, "message": "installed by bmad"}
        response = self._http.request(
            "POST", "/api/dashboards/db", action=f"installing dashboard {model.get('title')!r}", json=payload
        )
        body = _json_of(response, "installing a dashboard")
        if not isinstance(body, dict):
            raise AdapterError(SYSTEM, "installing a dashboard", "answer is not a JSON object")
        return DashboardRef(
            uid=str(body.get("uid") or model.get("uid") or ""),
            title=str(model.get("title") or ""),
            url=str(body.get("url") or ""),
        )

    def datasources(self) -> list[DataSource]:
        return parse_datasources(self._http.get_json("/api/datasources", action="listing data sources"))

    def datasource_health(self, uid: str) -> DataSourceHealth:
        response = self._http.request(
            "GET",
            f"/api/datasources/uid/{quote(uid, safe='')}/health",
            action=f"checking data source {uid}",
            expect=(200, 400, 500, 502, 503),
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        ok = response.status_code == 200 and str(body.get("status", "")).upper() == "OK"
        return DataSourceHealth(ok=ok, message=str(body.get("message") or ""), details=body.get("details") or {})

    def close(self) -> None:
        self._http.close()


def _json_of(response: Any, action: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AdapterError(SYSTEM, action, "answer is not JSON", status=response.status_code) from None


def parse_search(data: Any) -> list[DashboardRef]:
    if not isinstance(data, list):
        raise AdapterError(SYSTEM, "searching dashboards", "answer is not a JSON list")
    return [
        DashboardRef(
            uid=str(item.get("uid") or ""),
            title=str(item.get("title") or ""),
            url=str(item.get("url") or ""),
            folder=str(item.get("folderTitle") or ""),
        )
        for item in data
        if isinstance(item, dict) and item.get("type", "dash-db") == "dash-db"
    ]


def parse_datasources(data: Any) -> list[DataSource]:
    if not isinstance(data, list):
        raise AdapterError(SYSTEM, "listing data sources", "answer is not a JSON list")
    return [
        DataSource(
            uid=str(item.get("uid") or ""),
            name=str(item.get("name") or ""),
            type=str(item.get("type") or ""),
            url=str(item.get("url") or ""),
            is_default=bool(item.get("isDefault")),
        )
        for item in data
        if isinstance(item, dict)
    ]


def load_dashboard_files(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``*.json`` dashboard model in ``folder`` (sorted by name), validated minimally."""
    models = []
    for path in sorted(folder.glob("*.json")):
        try:
            model = json.loads(read_bounded(path, MAX_DASHBOARD_BYTES))  # a FIFO or a device: refused
        except (OSError, ValueError) as exc:
            raise ConfigError(f"dashboard file cannot be read as JSON: {exc}", file=str(path)) from None
        if not isinstance(model, dict) or not model.get("title") or not model.get("uid"):
            raise ConfigError("a dashboard needs a 'title' and a 'uid'", file=str(path))
        models.append((path, model))
    return models


def bundled_dashboards_dir() -> Path:
    """``src/bmad/dashboards``: the guide's four dashboards (and any other JSON shipped there)."""
    return Path(__file__).resolve().parent.parent / "dashboards"


def install_dashboards(grafana: GrafanaClient, folder: Path | None = None) -> list[tuple[str, DashboardRef]]:
    """Install (create or overwrite) every dashboard JSON in ``folder``; returns (file name, result) pairs."""
    installed = []
    for path, model in load_dashboard_files(folder or bundled_dashboards_dir()):
        installed.append((path.name, grafana.install_dashboard(model, overwrite=True)))
    return installed
