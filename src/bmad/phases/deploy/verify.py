"""Post-deploy verification: PromQL criteria over a window, absolute or relative to MEASURE's baseline.

A criterion's bound comes from ``max``/``min`` and, relative to the stored baseline figure,
``max_increase`` (baseline + N) and ``max_ratio`` (baseline x N); the tightest upper bound
wins. A query without data (an empty answer, or NaN only) follows the no-data policy:
``fail`` (default), ``pass`` or ``warn`` — never a silent zero.

The baseline is MEASURE's artifact ``baseline`` (:class:`~bmad.ports.artifacts.BaselineFigure` by name).
Queries may use ``$service``, ``$environment`` and ``$job``.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from bmad.config.deploy import Criterion, NoDataPolicy, VerificationConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper, waiting
from bmad.ports.artifacts import BaselineFigure
from bmad.ports.metrics import MetricsQuery, Sample

# Each pause of this polling loop is a wait on another system (a span of the phase).
_DISCOVERY_PAUSE = sleeper(SpanKind.MONITORING, "Prometheus discovering the replicas")

PASS, FAIL, WARN = "pass", "fail", "warn"


@datatype(frozen=True)
class Bounds:
    """The range a criterion's observed value must stay in, and how it reads in evidence."""

    upper: float | None
    lower: float | None
    text: str
    problem: str = ""  # why a relative bound could not be computed


@datatype(frozen=True)
class CriterionOutcome:
    """One criterion judged once: the value observed, the bound and pass, fail or warn."""

    name: str
    query: str
    status: str  # pass | fail | warn
    observed: float | None
    bound: str
    detail: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@datatype
class VerificationResult:
    """The verification window's rounds of outcomes and the first failure, if any."""

    rounds: list[list[CriterionOutcome]] = field(default_factory=list)
    failed: CriterionOutcome | None = None
    detected_at: datetime | None = None
    cancelled: bool = False

    @property
    def warnings(self) -> list[CriterionOutcome]:
        return [o for r in self.rounds for o in r if o.status == WARN]

    def summary(self) -> list[list[dict[str, Any]]]:
        return [[o.to_dict() for o in r] for r in self.rounds]


# MEASURE's baseline figures by name (MeasureArtifacts.baseline).
Baseline = Mapping[str, BaselineFigure]


def render_query(query: str, variables: Mapping[str, str]) -> str:
    """Fill ``$name`` and ``{name}`` (MEASURE's style) for the known variables; PromQL braces stay."""
    for key, value in variables.items():
        query = query.replace(f"${key}", value).replace(f"{{{key}}}", value)
    return query


_JOB_SELECTOR = re.compile(r'\{([^{}]*\bjob\s*=\s*"[^"]*"[^{}]*)\}')


def scope_selectors(query: str, labels: Mapping[str, str]) -> str:
    """Add ``labels`` as matchers to every selector of ``query`` that names a ``job``.

    Post-deploy verification judges the NEW release: with the local target's file-based discovery
    every series carries ``environment`` and ``release``, so a rate window that still holds the
    previous release's samples (a release rolled back a minute ago, another environment on the same
    Prometheus) cannot decide the verdict. A matcher the query already has is left alone.
    """

    def add(match: re.Match[str]) -> str:
        inner = match.group(1)
        extra = [
            f'{name}="{value}"'
            for name, value in labels.items()
            if not re.search(rf"\b{re.escape(name)}\s*(=|!=|=~|!~)", inner)
        ]
        return "{" + ",".join([inner.rstrip().rstrip(","), *extra]) + "}"

    return _JOB_SELECTOR.sub(add, query)


def query_for(criterion: Criterion, baseline: Baseline | None) -> str | None:
    if criterion.query:
        return criterion.query
    figure = (baseline or {}).get(criterion.baseline or "")
    return figure.query if figure is not None and figure.query else None


def bounds_for(criterion: Criterion, baseline: Baseline | None) -> Bounds:
    uppers: list[tuple[float, str]] = []
    lowers: list[tuple[float, str]] = []
    if criterion.max is not None:
        uppers.append((criterion.max, f"<= {criterion.max:g}"))
    if criterion.min is not None:
        lowers.append((criterion.min, f">= {criterion.min:g}"))
    problem = ""
    if criterion.baseline is not None and (criterion.max_increase is not None or criterion.max_ratio is not None):
        figure = (baseline or {}).get(criterion.baseline)
        base_value = None
        if figure is None:
            problem = f"baseline {criterion.baseline!r} was not captured by MEASURE"
        elif figure.no_data:
            problem = f"baseline {criterion.baseline!r} had no data when MEASURE captured it"
        else:
            raw = figure.figure(criterion.baseline_field)
            if raw is not None and not math.isnan(raw):
                base_value = raw
            else:
                problem = f"baseline {criterion.baseline!r} has no {criterion.baseline_field!r} figure"
        if base_value is not None:
            name = f"baseline.{criterion.baseline}.{criterion.baseline_field}={base_value:g}"
            if criterion.max_increase is not None:
                uppers.append((base_value + criterion.max_increase, f"<= {name} + {criterion.max_increase:g}"))
            if criterion.max_ratio is not None:
                uppers.append((base_value * criterion.max_ratio, f"<= {name} x {criterion.max_ratio:g}"))
    upper = min(uppers, key=lambda u: u[0]) if uppers else None
    lower = max(lowers, key=lambda u: u[0]) if lowers else None
    parts = []
    if upper is not None:
        parts.append(f"{upper[1]} (= {upper[0]:.6g})" if "baseline" in upper[1] else upper[1])
    if lower is not None:
        parts.append(lower[1])
    return Bounds(
        upper=upper[0] if upper else None,
        lower=lower[0] if lower else None,
        text=" and ".join(parts) or "no usable bound",
        problem=problem,
    )


def _values(samples: list[Sample]) -> list[float]:
    return [s.value for s in samples if not math.isnan(s.value)]


def evaluate(
    criterion: Criterion,
    samples: list[Sample],
    baseline: Baseline | None,
    *,
    default_no_data: NoDataPolicy,
    query: str,
    at: datetime,
) -> CriterionOutcome:
    policy = criterion.no_data or default_no_data
    bounds = bounds_for(criterion, baseline)
    stamp = at.isoformat()
    values = _values(samples)

    def by_policy(detail: str, observed: float | None = None) -> CriterionOutcome:
        status = {"fail": FAIL, "pass": PASS, "warn": WARN}[policy]
        return CriterionOutcome(
            criterion.name, query, status, observed, bounds.text, f"{detail} (no-data policy: {policy})", stamp
        )

    if not values:
        return by_policy("the query returned no data")
    if bounds.upper is None and bounds.lower is None:
        return by_policy(bounds.problem or "no bound could be computed")
    worst_high, worst_low = max(values), min(values)
    if bounds.upper is not None and worst_high > bounds.upper:
        return CriterionOutcome(
            criterion.name, query, FAIL, worst_high, bounds.text, f"{worst_high:.6g} exceeds {bounds.upper:.6g}", stamp
        )
    if bounds.lower is not None and worst_low < bounds.lower:
        return CriterionOutcome(
            criterion.name, query, FAIL, worst_low, bounds.text, f"{worst_low:.6g} is below {bounds.lower:.6g}", stamp
        )
    observed = worst_high if bounds.upper is not None else worst_low
    detail = "within bounds"
    if bounds.problem:
        detail += f"; relative bound unavailable: {bounds.problem}"
    return CriterionOutcome(criterion.name, query, PASS, observed, bounds.text, detail, stamp)


def verify_window(
    metrics: MetricsQuery,
    config: VerificationConfig,
    baseline: Baseline | None,
    *,
    variables: Mapping[str, str],
    scope: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_round: Callable[[int, int, list[CriterionOutcome]], None] | None = None,
) -> VerificationResult:
    """Evaluate every criterion every ``interval_seconds`` until ``window_seconds`` have passed.

    Stops at the first criterion that failed ``failures_to_fail`` rounds in a row; its time is
    the detection time (MTTR starts there).
    """
    cancel = cancel or threading.Event()
    result = VerificationResult()
    if config.settle_seconds > 0 and _observe(cancel, config.settle_seconds, "verification: settling"):
        result.cancelled = True
        return result
    rounds = max(1, round(config.window_seconds / config.interval_seconds))
    streak: dict[str, int] = {}
    for number in range(1, rounds + 1):
        if _observe(cancel, config.interval_seconds, "verification window"):
            result.cancelled = True
            return result
        outcomes: list[CriterionOutcome] = []
        for criterion in config.criteria:
            at = now()
            outcome = _measure(metrics, criterion, config, baseline, variables=variables, scope=scope, at=at)
            outcomes.append(outcome)
            streak[criterion.name] = streak.get(criterion.name, 0) + 1 if outcome.status == FAIL else 0
            if streak[criterion.name] >= config.failures_to_fail and result.failed is None:
                result.failed = outcome
                result.detected_at = at
        result.rounds.append(outcomes)
        if on_round is not None:
            on_round(number, rounds, outcomes)
        if result.failed is not None:
            return result
    return result


def _measure(
    metrics: MetricsQuery,
    criterion: Criterion,
    config: VerificationConfig,
    baseline: Baseline | None,
    *,
    variables: Mapping[str, str],
    scope: Mapping[str, str] | None,
    at: datetime,
) -> CriterionOutcome:
    """One criterion in one round: its query rendered (and scoped), asked, and judged."""
    raw_query = query_for(criterion, baseline)
    if raw_query is None:
        outcome = evaluate(criterion, [], baseline, default_no_data=config.no_data, query="", at=at)
        return CriterionOutcome(
            outcome.name,
            "",
            outcome.status,
            None,
            outcome.bound,
            f"no query: baseline {criterion.baseline!r} stored none ({outcome.detail})",
            outcome.at,
        )
    query = render_query(raw_query, variables)
    if scope:
        query = scope_selectors(query, scope)
    try:
        samples = metrics.query(query)
    except AdapterError as exc:
        return CriterionOutcome(
            criterion.name, query, FAIL, None, "", f"could not query: {exc.message}", at.isoformat()
        )
    return evaluate(criterion, samples, baseline, default_no_data=config.no_data, query=query, at=at)


def _observe(cancel: threading.Event, seconds: float, label: str) -> bool:
    """Let the service run for ``seconds`` (a wait on it: a span); True when cancelled first."""
    with waiting(SpanKind.SERVICE, label):
        return cancel.wait(seconds)


def wait_discovered(
    metrics: MetricsQuery,
    *,
    labels: Mapping[str, str],
    replicas: int,
    timeout: float = 20.0,
    interval: float = 0.5,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = _DISCOVERY_PAUSE,
) -> dict[str, Any]:
    """Wait (at most ``timeout`` s) until Prometheus has scraped ``replicas`` targets carrying ``labels``.

    After a cut-over the target rewrites its service-discovery file; Prometheus reads it, hands the
    targets to the scrape manager (a 5 s tick in 2.42) and scrapes them. Until then the window
    would measure nothing of the new release. Returns the evidence: the query, what was seen, how
    long it took and whether the count was reached (a timeout is not a failure by itself: the
    criteria's no-data policy decides what missing data means).
    """
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    query = f"count(up{{{selector}}} == 1)"
    started = clock()
    observed = 0
    error = ""
    while True:
        try:
            samples = metrics.query(query)
            observed = int(max((s.value for s in samples if not math.isnan(s.value)), default=0))
            error = ""
        except AdapterError as exc:
            error = exc.message
        if observed >= replicas or clock() - started >= timeout or (cancel is not None and cancel.is_set()):
            break
        sleep(interval)
    evidence: dict[str, Any] = {
        "query": query,
        "expected": replicas,
        "observed": observed,
        "seconds": round(clock() - started, 2),
        "ok": observed >= replicas,
    }
    if error:
        evidence["error"] = error
    return evidence
