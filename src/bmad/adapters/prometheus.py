"""Prometheus over its HTTP API (v1): queries, readiness, runtime info, targets, rules, alertmanagers.

``PrometheusClient(url).query(expr)`` / ``.query_range(...)`` implement
:class:`bmad.ports.metrics.MetricsQuery`. An empty result is an empty list ("no data"),
never a zero. ``NaN`` samples (e.g. a ratio over no traffic) are returned as they are;
callers decide (MEASURE treats them as no data).

The ``parse_*`` functions are pure readers of the API's JSON answers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from bmad.adapters._answers import reads_answer
from bmad.adapters._http import HttpClient
from bmad.core.errors import AdapterError
from bmad.ports.metrics import Sample, Series
from bmad.ports.monitoring import AlertmanagerRef, Rule, RuleGroup, RuntimeInfo, ScrapeTarget

SYSTEM = "prometheus"
_CHECK_ADDRESS = "check that the address bmad reads Prometheus at serves Prometheus' own HTTP API (/api/v1)"


class PrometheusClient:
    def __init__(self, url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = HttpClient(SYSTEM, self.url, timeout=timeout, headers=headers)

    # -- MetricsQuery -------------------------------------------------------------------------
    def query(self, expr: str, *, at: datetime | None = None) -> list[Sample]:
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = _ts(at)
        data = self._api("POST", "/api/v1/query", action=f"query {expr!r}", data=params)
        return parse_instant(data)

    def query_range(self, expr: str, *, start: datetime, end: datetime, step_seconds: float) -> list[Series]:
        params = {"query": expr, "start": _ts(start), "end": _ts(end), "step": f"{max(step_seconds, 0.001):g}"}
        data = self._api("POST", "/api/v1/query_range", action=f"range query {expr!r}", data=params)
        return parse_range(data)

    # -- status -------------------------------------------------------------------------------
    def ready(self) -> bool:
        response = self._http.request("GET", "/-/ready", action="readiness check", expect=(200, 503))
        return bool(response.status_code == 200)

    def runtime_info(self) -> RuntimeInfo:
        info = self._api("GET", "/api/v1/status/runtimeinfo", action="reading runtime info")
        version = None
        try:
            build = self._api("GET", "/api/v1/status/buildinfo", action="reading build info")
            version = str(build.get("version")) if isinstance(build, dict) else None
        except AdapterError:
            version = None
        return parse_runtime_info(info, version=version)

    def targets(self) -> list[ScrapeTarget]:
        data = self._api("GET", "/api/v1/targets", action="listing scrape targets", params={"state": "active"})
        return parse_targets(data)

    def rule_groups(self) -> list[RuleGroup]:
        return parse_rules(self._api("GET", "/api/v1/rules", action="listing rules"))

    def alertmanagers(self) -> list[AlertmanagerRef]:
        return parse_alertmanagers(self._api("GET", "/api/v1/alertmanagers", action="listing alertmanagers"))

    def reload(self) -> None:
        """POST /-/reload (needs --web.enable-lifecycle)."""
        self._http.request("POST", "/-/reload", action="reloading configuration")

    def close(self) -> None:
        self._http.close()

    # -- plumbing -----------------------------------------------------------------------------
    def _api(self, method: str, path: str, *, action: str, **kwargs: Any) -> Any:
        # 400/422 carry a JSON error (bad query); surface Prometheus' own message.
        response = self._http.request(method, path, action=action, expect=(200, 400, 422, 503), **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise AdapterError(SYSTEM, action, "answer is not JSON", status=response.status_code) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            detail = ""
            if isinstance(body, dict):
                detail = f"{body.get('errorType', 'error')}: {body.get('error', '')}"
            raise AdapterError(
                SYSTEM, action, detail, status=response.status_code, temporary=response.status_code >= 500
            )
        return body.get("data")


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return f"{value.timestamp():.3f}"


def _float(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


@reads_answer(SYSTEM, "reading a query answer", hint=_CHECK_ADDRESS)
def parse_instant(data: Any) -> list[Sample]:
    """Samples of an instant query answer (vector or scalar; strings are not metrics)."""
    if not isinstance(data, dict):
        raise AdapterError(SYSTEM, "reading a query answer", "missing 'data'")
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "vector":
        return [
            Sample(
                labels=dict(item.get("metric") or {}), value=_float(item["value"][1]), timestamp=float(item["value"][0])
            )
            for item in result or []
        ]
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Sample(labels={}, value=_float(result[1]), timestamp=float(result[0]))]
    if kind == "matrix":
        # A range-vector selector at an instant: keep the newest point of each series.
        samples = []
        for item in result or []:
            values = item.get("values") or []
            if values:
                ts, raw = values[-1]
                samples.append(Sample(labels=dict(item.get("metric") or {}), value=_float(raw), timestamp=float(ts)))
        return samples
    return []


@reads_answer(SYSTEM, "reading a range query answer", hint=_CHECK_ADDRESS)
def parse_range(data: Any) -> list[Series]:
    if not isinstance(data, dict):
        raise AdapterError(SYSTEM, "reading a range query answer", "missing 'data'")
    series = []
    for item in data.get("result") or []:
        points = [(float(ts), _float(raw)) for ts, raw in item.get("values") or []]
        series.append(Series(labels=dict(item.get("metric") or {}), points=points))
    return series


def parse_time(text: str) -> datetime:
    """RFC 3339 with up to nanoseconds (Go's format), e.g. 2026-11-26T13:57:31.274701124Z."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if "." in value:
        head, rest = value.split(".", 1)
        digits = ""
        for ch in rest:
            if not ch.isdigit():
                break
            digits += ch
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@reads_answer(SYSTEM, "reading runtime info", hint=_CHECK_ADDRESS)
def parse_runtime_info(data: Any, *, version: str | None = None) -> RuntimeInfo:
    if not isinstance(data, dict) or "startTime" not in data:
        raise AdapterError(SYSTEM, "reading runtime info", "no startTime in the answer")
    reload_ok = data.get("reloadConfigSuccess")
    return RuntimeInfo(
        start_time=parse_time(str(data["startTime"])),
        reload_config_success=bool(reload_ok) if reload_ok is not None else None,
        storage_retention=data.get("storageRetention"),
        version=version,
    )


@reads_answer(SYSTEM, "reading scrape targets", hint=_CHECK_ADDRESS)
def parse_targets(data: Any) -> list[ScrapeTarget]:
    targets = []
    for item in (data or {}).get("activeTargets") or []:
        labels = item.get("labels") or {}
        discovered = item.get("discoveredLabels") or {}
        targets.append(
            ScrapeTarget(
                job=str(labels.get("job") or item.get("scrapePool") or discovered.get("job") or ""),
                instance=str(labels.get("instance") or discovered.get("__address__") or ""),
                health=str(item.get("health") or "unknown"),
                scrape_url=str(item.get("scrapeUrl") or ""),
                last_error=str(item.get("lastError") or ""),
                labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            )
        )
    return targets


@reads_answer(SYSTEM, "reading rules", hint=_CHECK_ADDRESS)
def parse_rules(data: Any) -> list[RuleGroup]:
    groups = []
    for group in (data or {}).get("groups") or []:
        rules = tuple(
            Rule(
                name=str(rule.get("name") or ""),
                kind=str(rule.get("type") or ""),
                health=str(rule.get("health") or "unknown"),
                last_error=str(rule.get("lastError") or ""),
                query=str(rule.get("query") or ""),
            )
            for rule in group.get("rules") or []
        )
        groups.append(RuleGroup(name=str(group.get("name") or ""), file=str(group.get("file") or ""), rules=rules))
    return groups


@reads_answer(SYSTEM, "reading alertmanagers", hint=_CHECK_ADDRESS)
def parse_alertmanagers(data: Any) -> list[AlertmanagerRef]:
    refs = [AlertmanagerRef(url=str(a.get("url")), active=True) for a in (data or {}).get("activeAlertmanagers") or []]
    refs += [
        AlertmanagerRef(url=str(a.get("url")), active=False) for a in (data or {}).get("droppedAlertmanagers") or []
    ]
    return refs
