"""Run locust (headless, FastHttpUser; ``--processes`` for more cores) or k6 for one level, and read
their results into the same per-level figures as the built-in engine.

locust: ``--json-file`` gives request/failure counts and the response-time histogram (ms
buckets), ``--csv`` the failures by error text. k6: ``--summary-export`` gives counts, rates and
trend percentiles. locust's failures CSV lags its JSON stats (2.47: about half the count), so
bmad's locustfile counts errors by text itself in every locust process; the CSV is only a fallback
(its proportions, scaled to the final count). Both run through
:func:`bmad.adapters._process.run_command`, bounded by the level's hard limit.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bmad.adapters._answers import reads_answer
from bmad.adapters._process import run_command
from bmad.adapters.loadgen.histogram import Histogram
from bmad.core.errors import AdapterError
from bmad.ports.evidence import EvidenceSink
from bmad.ports.loadtest import HttpRequest, LevelPlan, LevelResult

_LOCUSTFILE = '''\
"""Written by bmad for one load-test level."""
import json
import os

import gevent
from locust import FastHttpUser, constant, events, task

_REQ = json.loads(os.environ["BMAD_LOAD_REQUEST"])
_MAX = int(os.environ.get("BMAD_LOAD_MAX_REQUESTS") or 0)
_SEEN = [0]
_ERRORS = {}
_ENV = [None]


@events.request.add_listener
def _count(exception=None, **kwargs):
    _SEEN[0] += 1
    if exception is not None:
        text = repr(exception)[:200]
        _ERRORS[text] = _ERRORS.get(text, 0) + 1
    env = _ENV[0]
    if _MAX and _SEEN[0] >= _MAX and env is not None and env.runner is not None:
        gevent.spawn(env.runner.quit)


def _dump(**kwargs):
    folder = os.environ.get("BMAD_LOAD_ERRORS_DIR")
    if folder:
        with open(os.path.join(folder, "errors-%d.json" % os.getpid()), "w") as handle:
            json.dump(_ERRORS, handle)


events.test_stop.add_listener(_dump)
events.quitting.add_listener(_dump)


@events.init.add_listener
def _init(environment, **kwargs):
    _ENV[0] = environment


class BmadUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = float(os.environ.get("BMAD_LOAD_TIMEOUT") or 10)
    connection_timeout = network_timeout

    @task
    def hit(self):
        body = _REQ["body"].encode("latin-1") if _REQ["body"] is not None else None
        self.client.request(_REQ["method"], _REQ["path"], headers=_REQ["headers"], data=body, name="bmad")
'''

_K6_SCRIPT = """\
import http from 'k6/http';
const req = JSON.parse(__ENV.BMAD_LOAD_REQUEST);
export default function () {
  http.request(req.method, req.url, req.body, { headers: req.headers, timeout: __ENV.BMAD_LOAD_TIMEOUT + 's' });
}
"""


def _split_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return base, path


def error_kind(text: str) -> str:
    """A short error kind from a locust/k6 error text: ``http_503``, ``connection_refused`` ..."""
    match = re.search(r"code=(\d{3})|\b(\d{3}) (?:Server|Client) Error|status(?:_code)?[=: ]+(\d{3})", text)
    if match:
        return "http_" + next(g for g in match.groups() if g)
    lowered = text.lower()
    for needle, kind in (
        ("refused", "connect_econnrefused"),
        ("reset", "connection_reset"),
        ("timed out", "timeout"),
        ("timeout", "timeout"),
        ("broken pipe", "broken_pipe"),
    ):
        if needle in lowered:
            return kind
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text.strip())
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.group(0)).lower() if name else "other"


def _locust_errors(error_texts: dict[str, int] | None, failures_csv: str, failures: int) -> dict[str, int]:
    """Errors by kind: from bmad's locustfile counts when given, else from locust's failures CSV."""
    errors: dict[str, int] = {}
    if error_texts:
        for text, n in error_texts.items():
            kind = error_kind(text)
            errors[kind] = errors.get(kind, 0) + int(n)
    else:
        for row in csv.DictReader(failures_csv.splitlines()):
            kind = error_kind(row.get("Error") or "")
            errors[kind] = errors.get(kind, 0) + int(row.get("Occurrences") or 0)
    known = sum(errors.values())
    if known and known != failures:
        # locust writes the failures CSV before its last stats arrive (seen with 2.47: about half the
        # count): keep the CSV's proportions, scaled to the final count from the JSON stats.
        scaled = {kind: n * failures // known for kind, n in errors.items()}
        biggest = max(errors, key=lambda kind: errors[kind])
        scaled[biggest] += failures - sum(scaled.values())
        errors = {kind: n for kind, n in scaled.items() if n}
    elif failures and not known:
        errors["unclassified"] = failures
    return errors


@reads_answer("locust", "reading results", hint="is the installed locust a 2.x release? its result files changed shape")
def parse_locust(
    json_stats: Any, failures_csv: str, *, concurrency: int, error_texts: dict[str, int] | None = None
) -> LevelResult:
    """Per-level figures from locust's ``--json-file`` list, and errors by kind from ``error_texts``
    (counted by bmad's locustfile in every locust process) or else locust's ``--csv`` failures file."""
    if not isinstance(json_stats, list):
        raise AdapterError("locust", "reading results", "the JSON stats are not a list")
    hist = Histogram()
    requests = failures = 0
    start: float | None = None
    end: float | None = None
    max_ms = 0.0
    min_ms: float | None = None
    for entry in json_stats:
        requests += int(entry.get("num_requests") or 0)
        failures += int(entry.get("num_failures") or 0)
        times = entry.get("response_times") or {}
        if isinstance(times, str):  # older locust versions wrote the dict's repr
            times = ast.literal_eval(times)
        for ms, n in times.items():
            hist.record(int(float(ms) * 1000), int(n))
        max_ms = max(max_ms, float(entry.get("max_response_time") or 0))
        if entry.get("min_response_time") is not None:
            low = float(entry["min_response_time"])
            min_ms = low if min_ms is None else min(min_ms, low)
        if entry.get("start_time"):
            start = float(entry["start_time"]) if start is None else min(start, float(entry["start_time"]))
        if entry.get("last_request_timestamp"):
            last = float(entry["last_request_timestamp"])
            end = last if end is None else max(end, last)
    errors = _locust_errors(error_texts, failures_csv, failures)
    duration = max((end or 0) - (start or 0), 1e-9)
    succeeded = requests - failures
    return LevelResult(
        concurrency=concurrency,
        requests=requests,
        succeeded=succeeded,
        failed=failures,
        success_rate=succeeded / requests if requests else 0.0,
        error_rate=failures / requests if requests else 0.0,
        rps=requests / duration,
        duration_seconds=round(duration, 3),
        p50_ms=hist.percentile(50) / 1000,
        p95_ms=hist.percentile(95) / 1000,
        p99_ms=hist.percentile(99) / 1000,
        max_ms=round(max_ms, 3),
        mean_ms=round(hist.mean / 1000, 3),
        min_ms=round(min_ms or 0.0, 3),
        errors=dict(sorted(errors.items())),
        statuses={},
        runner="locust",
    )


@reads_answer("k6", "reading the summary", hint="is the installed k6 a release whose --summary-export bmad reads?")
def parse_k6(summary: Any, *, concurrency: int) -> LevelResult:
    """Per-level figures from k6's ``--summary-export`` JSON (trend values in ms)."""
    metrics = (summary or {}).get("metrics") or {}
    reqs = metrics.get("http_reqs") or {}
    duration = metrics.get("http_req_duration") or {}
    failed = metrics.get("http_req_failed") or {}
    requests = int(reqs.get("count") or 0)
    # A Rate metric exports "passes" (true values = failed requests) and "fails" (false values).
    failures = int(failed.get("passes") or 0)
    succeeded = requests - failures
    rps = float(reqs.get("rate") or 0.0)
    return LevelResult(
        concurrency=concurrency,
        requests=requests,
        succeeded=succeeded,
        failed=failures,
        success_rate=succeeded / requests if requests else 0.0,
        error_rate=failures / requests if requests else 0.0,
        rps=rps,
        duration_seconds=round(requests / rps, 3) if rps else 0.0,
        p50_ms=float(duration.get("med") or 0.0),
        p95_ms=float(duration.get("p(95)") or 0.0),
        p99_ms=float(duration.get("p(99)") or 0.0),
        max_ms=float(duration.get("max") or 0.0),
        mean_ms=float(duration.get("avg") or 0.0),
        min_ms=float(duration.get("min") or 0.0),
        errors={"failed": failures} if failures else {},
        statuses={},
        runner="k6",
    )


def _request_json(request: HttpRequest, *, path: str | None = None) -> str:
    return json.dumps(
        {
            "method": request.method,
            "url": request.url,
            "path": path,
            "headers": request.headers,
            "body": request.body.decode("latin-1") if request.body is not None else None,
        }
    )


class LocustLoadGenerator:
    name = "locust"

    def __init__(self, *, processes: int | None = None, evidence: EvidenceSink | None = None) -> None:
        self.processes = processes
        self.evidence = evidence

    def run_level(self, request: HttpRequest, plan: LevelPlan) -> LevelResult:
        base, path = _split_url(request.url)
        seconds = plan.duration_seconds or plan.hard_limit_seconds
        with tempfile.TemporaryDirectory(prefix="bmad-locust-") as tmp:
            folder = Path(tmp)
            (folder / "locustfile.py").write_text(_LOCUSTFILE, encoding="utf-8")
            argv = [
                "locust",
                "-f",
                str(folder / "locustfile.py"),
                "--headless",
                "-u",
                str(plan.concurrency),
                "-r",
                str(plan.concurrency),
                "-t",
                f"{max(1, round(seconds))}s",
                "-H",
                base,
                "--only-summary",
                "--skip-log",
                "--csv",
                str(folder / "out"),
                "--json-file",
                str(folder / "stats"),
                "--exit-code-on-error",
                "0",
                "--stop-timeout",
                "0",
            ]
            if self.processes and self.processes > 1:
                argv += ["--processes", str(self.processes)]
            result = run_command(
                argv,
                system="locust",
                env={
                    "BMAD_LOAD_REQUEST": _request_json(request, path=path),
                    "BMAD_LOAD_MAX_REQUESTS": str(plan.max_requests or 0),
                    "BMAD_LOAD_TIMEOUT": str(plan.request_timeout_seconds),
                    "BMAD_LOAD_ERRORS_DIR": str(folder),
                },
                timeout=plan.hard_limit_seconds + 30,
                evidence=self.evidence,
                label=f"locust level {plan.concurrency}",
            )
            stats_file = folder / "stats.json"
            if not stats_file.exists():
                raise AdapterError("locust", f"level {plan.concurrency}", result.tail(10), status=result.exit_code)
            stats = json.loads(stats_file.read_text(encoding="utf-8"))
            failures_file = folder / "out_failures.csv"
            failures = failures_file.read_text(encoding="utf-8") if failures_file.exists() else ""
            texts: dict[str, int] = {}
            for part in folder.glob("errors-*.json"):
                for text, n in json.loads(part.read_text(encoding="utf-8")).items():
                    texts[text] = texts.get(text, 0) + int(n)
        return parse_locust(stats, failures, concurrency=plan.concurrency, error_texts=texts)

    def close(self) -> None:
        return None


class K6LoadGenerator:
    name = "k6"

    def __init__(self, *, evidence: EvidenceSink | None = None) -> None:
        self.evidence = evidence

    def run_level(self, request: HttpRequest, plan: LevelPlan) -> LevelResult:
        with tempfile.TemporaryDirectory(prefix="bmad-k6-") as tmp:
            folder = Path(tmp)
            (folder / "script.js").write_text(_K6_SCRIPT, encoding="utf-8")
            argv = [
                "k6",
                "run",
                "--quiet",
                "--no-color",
                "--vus",
                str(plan.concurrency),
                "--summary-export",
                str(folder / "summary.json"),
                "--summary-trend-stats",
                "min,med,avg,p(95),p(99),max",
            ]
            if plan.duration_seconds:
                argv += ["--duration", f"{max(1, round(plan.duration_seconds))}s"]
            if plan.max_requests:
                argv += ["--iterations", str(plan.max_requests)]
            argv.append(str(folder / "script.js"))
            result = run_command(
                argv,
                system="k6",
                env={
                    "BMAD_LOAD_REQUEST": _request_json(request),
                    "BMAD_LOAD_TIMEOUT": str(plan.request_timeout_seconds),
                },
                timeout=plan.hard_limit_seconds + 30,
                evidence=self.evidence,
                label=f"k6 level {plan.concurrency}",
            )
            summary_file = folder / "summary.json"
            if not summary_file.exists():
                raise AdapterError("k6", f"level {plan.concurrency}", result.tail(10), status=result.exit_code)
            summary = json.loads(summary_file.read_text(encoding="utf-8"))
        return parse_k6(summary, concurrency=plan.concurrency)

    def close(self) -> None:
        return None
