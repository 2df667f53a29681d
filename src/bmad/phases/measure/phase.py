"""The MEASURE phase: establish monitoring baselines and verify observability before deployment.

Checks (ids are stable; they name the checks in records):

* ``measure.prometheus``       Prometheus reachable and ready; uptime (``prometheus_uptime_seconds``)
* ``measure.scrape_job``       the service's scrape job is configured and its targets are up
* ``measure.alert_rules``      rules loaded (``alert_rules_loaded``) >= the minimum, no rule in error
* ``measure.alertmanager``     Prometheus sends alerts to an Alertmanager, and that one is ready
* ``measure.grafana.health``   Grafana healthy (skipped, with the reason, where not configured)
* ``measure.grafana.dashboards`` the required dashboards exist (``grafana_dashboards_count``)
* ``measure.grafana.datasource`` the dashboards' data source answers
* ``measure.e2e_metric``       a unique metric pushed to the Pushgateway comes back from a query
* ``measure.baselines``        baseline figures captured (artifact ``baseline``, ``baseline_captured``)
* ``measure.load_test``        the concurrency sweep (artifact ``load_test``; per-level figures)

Baselines are read *as of the phase start*, so MEASURE's own load test never ends up in them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bmad.config.measure import BaselineQuery, default_baselines, kube_baselines, render_query
from bmad.core.errors import AdapterError, Unreachable
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName
from bmad.phases.measure import loadtest
from bmad.phases.measure.baselines import KUBE_BREAKDOWNS, Baseline, capture, capture_breakdown
from bmad.ports.loadtest import HttpRequest, LoadGenerator
from bmad.ports.monitoring import Alertmanager, Grafana, Prometheus, Pushgateway, ScrapeTarget
from bmad.ports.phase import BasePhase, Check, PhaseContext

ALERTMANAGER_DISCOVERY_SECONDS = 5.0
GUIDE_METRICS = ("prometheus_uptime_seconds", "grafana_dashboards_count", "alert_rules_loaded", "baseline_captured")
_SEVERITY = {CheckStatus.PASS: 0, CheckStatus.SKIP: 0, CheckStatus.WARN: 1, CheckStatus.FAIL: 2}


def worst(statuses: Sequence[CheckStatus]) -> CheckStatus:
    found = CheckStatus.PASS
    for status in statuses:
        if _SEVERITY[status] > _SEVERITY[found]:
            found = status
    return found


@dataclass
class MeasurePorts:
    prometheus: Prometheus
    alertmanager: Alertmanager
    pushgateway: Pushgateway | None = None
    grafana: Grafana | None = None
    # Builds the load generator for the configured runner and the target URL (only when a sweep runs).
    load_generator: Callable[[str], LoadGenerator] | None = None
    # Base URLs of whatever serves now on the deploy target (``Target.serving_endpoints``): the local
    # target's active release may run on either of its two port slots.
    serving_endpoints: Callable[[], list[str]] | None = None


class MeasurePhase(BasePhase):
    name = PhaseName.MEASURE

    def __init__(self, ports: MeasurePorts, *, started_at: datetime | None = None) -> None:
        self.ports = ports
        self.started_at = started_at or datetime.now(UTC)

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        prom = ("measure.prometheus",)
        # Without Grafana every Grafana check reports "not configured" itself (not "health did not pass").
        grafana: tuple[str, ...] = ("measure.grafana.health",) if self.ports.grafana is not None else ()
        return [
            Check("measure.prometheus", "Prometheus running and accessible", self.check_prometheus),
            Check("measure.scrape_job", "The service's scrape job has its targets up", self.check_scrape_job, prom),
            Check("measure.alert_rules", "Alert rules configured and healthy", self.check_alert_rules, prom),
            Check(
                "measure.alertmanager", "Prometheus connected to a ready Alertmanager", self.check_alertmanager, prom
            ),
            Check("measure.grafana.health", "Grafana running", self.check_grafana_health),
            Check(
                "measure.grafana.dashboards",
                "Grafana has the required dashboards",
                self.check_grafana_dashboards,
                grafana,
            ),
            Check(
                "measure.grafana.datasource",
                "Grafana can query its data source",
                self.check_grafana_datasource,
                grafana,
            ),
            Check("measure.e2e_metric", "Test metric verified end-to-end", self.check_e2e_metric, prom),
            Check("measure.baselines", "Baseline metrics captured", self.check_baselines, prom),
            Check("measure.load_test", "Load-test sweep within the SLO", self.check_load_test, exclusive=True),
        ]

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        """The guide's block, every key present (``None`` = not measured: skipped or could not find out),
        then the load-test figures per level."""
        merged: dict[str, MetricValue] = dict.fromkeys(GUIDE_METRICS)
        for result in results:
            merged.update(result.metrics)
        return merged

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def scrape_job(ctx: PhaseContext) -> str:
        return ctx.config.measure.scrape_job or ctx.config.service.name

    @staticmethod
    def deployed(ctx: PhaseContext) -> bool:
        """Whether an earlier release of this service runs in this environment (DEPLOY passed)."""
        return ctx.history.last_deployed() is not None

    def service_urls(self, ctx: PhaseContext) -> tuple[list[str], str]:
        """The service's current URL(s) and where they came from: ``monitoring.service_url``, else
        the replicas the deploy target says serve now (local: the active release, on whichever port
        slot it runs), else the configured slot-0 replicas."""
        env = ctx.environment
        if not env.monitoring.service_url and env.target.kind == "local" and self.ports.serving_endpoints:
            try:
                serving = sorted(self.ports.serving_endpoints())
            except AdapterError as exc:
                urls, source = self.configured_service_urls(ctx)
                return urls, f"{source}; the target could not say what serves: {exc.message}"
            if serving:
                return serving, "the local target's serving replicas (Target.serving_endpoints)"
        return self.configured_service_urls(ctx)

    @staticmethod
    def configured_service_urls(ctx: PhaseContext) -> tuple[list[str], str]:
        """The URL(s) the configuration names: ``monitoring.service_url``, else the local target's
        slot-0 replicas (``host_port_base + i``)."""
        env = ctx.environment
        if env.monitoring.service_url:
            return [env.monitoring.service_url], f"environments.{ctx.environment_name}.monitoring.service_url"
        if env.target.kind == "local":
            local = env.target.local
            return (
                [f"http://127.0.0.1:{local.host_port_base + i}" for i in range(max(1, local.replicas))],
                "the local target's replicas (target.local.host_port_base, replicas)",
            )
        return [], f"environments.{ctx.environment_name}.monitoring.service_url is not set"

    def _prometheus_down(self, exc: Unreachable, ctx: PhaseContext) -> Unreachable:
        return Unreachable(
            "prometheus",
            f"reaching {self.ports.prometheus.url}",
            exc.detail,
            hint=f"start Prometheus, or fix environments.{ctx.environment_name}.monitoring.prometheus_url",
        )

    # -- Prometheus ---------------------------------------------------------------------------
    def check_prometheus(self, ctx: PhaseContext) -> CheckResult:
        prom = self.ports.prometheus
        try:
            ready = prom.ready()
        except Unreachable as exc:
            raise self._prometheus_down(exc, ctx) from None
        if not ready:
            return CheckResult(
                id="measure.prometheus",
                title="Prometheus running and accessible",
                status=CheckStatus.FAIL,
                summary=f"Prometheus at {prom.url} answers but is not ready",
                expected="/-/ready answers 200",
                observed="/-/ready answers 503 (starting up, replaying its WAL, or shutting down)",
                fix="wait for Prometheus to finish starting, then run MEASURE again; check its log",
                evidence={"url": prom.url},
            )
        info = prom.runtime_info()
        uptime = max(0.0, (datetime.now(UTC) - info.start_time).total_seconds())
        evidence = {
            "url": prom.url,
            "start_time": info.start_time.isoformat(),
            "uptime_seconds": round(uptime, 1),
            "version": info.version,
            "reload_config_success": info.reload_config_success,
            "storage_retention": info.storage_retention,
        }
        status = CheckStatus.PASS
        summary = f"Prometheus {info.version or ''} ready at {prom.url}, up {_duration(uptime)}".replace("  ", " ")
        fix = ""
        if info.reload_config_success is False:
            status = CheckStatus.WARN
            summary += "; its last configuration reload FAILED (it still runs the previous configuration)"
            fix = "run 'promtool check config' on Prometheus' configuration, fix it, reload"
        return CheckResult(
            id="measure.prometheus",
            title="Prometheus running and accessible",
            status=status,
            summary=summary,
            expected="ready, last configuration reload successful",
            observed=f"ready, uptime {_duration(uptime)}, reloadConfigSuccess={info.reload_config_success}",
            fix=fix,
            evidence=evidence,
            metrics={"prometheus_uptime_seconds": round(uptime)},
        )

    def check_scrape_job(self, ctx: PhaseContext) -> CheckResult:
        job = self.scrape_job(ctx)
        target = ctx.environment.target
        file_sd = target.local.prometheus_file_sd if target.kind == "local" else None
        # Targets discovered from the local target's file carry an environment label: another
        # environment's replicas of the same job are not this environment's.
        only_env = ctx.environment_name if file_sd else None
        wait = ctx.config.measure.target_wait_seconds
        deadline = time.monotonic() + wait
        while True:
            targets = self.ports.prometheus.targets()
            mine = [t for t in targets if t.job == job] or self._discovered_targets(job, targets, only_env)
            if not any(t.health == "unknown" for t in mine) or time.monotonic() >= deadline or ctx.cancel.is_set():
                break
            time.sleep(0.25)
        jobs = sorted({t.job for t in targets})
        evidence: dict[str, Any] = {
            "job": job,
            "targets": [
                {"instance": t.instance, "health": t.health, "scrape_url": t.scrape_url, "last_error": t.last_error}
                for t in mine
            ],
            "jobs_seen": jobs,
        }
        base = ("measure.scrape_job", "The service's scrape job has its targets up")
        if file_sd:
            evidence["file_sd"] = str(ctx.config.resolve_path(file_sd))
            evidence["environment_label"] = only_env
        if not mine and file_sd and not self.deployed(ctx):
            return _r(
                *base,
                status=CheckStatus.WARN,
                summary=(
                    f"job {job!r} has no targets yet — expected: nothing is deployed here, and the local "
                    "target lists the serving replicas for Prometheus' file-based discovery at its first cut-over"
                ),
                expected=f"targets with job={job} once a release serves",
                observed=f"jobs: {', '.join(jobs) or 'none'}",
                fix="none needed before the first deployment; DEPLOY waits until Prometheus scrapes the replicas",
                evidence=evidence,
            )
        if not mine:
            fix = f"add a scrape_configs entry with job_name: {job} for the service's /metrics, then reload"
            if target.kind == "local" and not file_sd:
                fix += (
                    "; or let the local target tell Prometheus where its replicas run: set "
                    f"environments.{ctx.environment_name}.target.local.prometheus_file_sd, or export "
                    'BMAD_PROMETHEUS_FILE_SD_DIR (eval "$(bmad stack env)" does, for the local stack)'
                )
            if file_sd:
                fix = (
                    f"give Prometheus a file_sd_configs entry reading {evidence['file_sd']}/*.json "
                    "(the local stack has one), and deploy: the cut-over writes the serving replicas there"
                )
            return _r(
                *base,
                status=CheckStatus.FAIL,
                summary=f"Prometheus has no scrape job {job!r}",
                expected=f"a scrape job named {job!r} (measure.scrape_job, default: the service name)",
                observed=f"jobs: {', '.join(jobs) or 'none'}",
                fix=fix,
                evidence=evidence,
            )
        down = [t for t in mine if t.health != "up"]
        up = len(mine) - len(down)
        if not down:
            return _r(
                *base,
                status=CheckStatus.PASS,
                summary=f"job {job!r}: {up}/{len(mine)} targets up",
                expected="every target up",
                observed=f"{up}/{len(mine)} up",
                evidence=evidence,
            )
        detail = "; ".join(f"{t.instance} {t.health}: {t.last_error or 'no error text'}" for t in down)
        if not self.deployed(ctx):
            return _r(
                *base,
                status=CheckStatus.WARN,
                summary=f"job {job!r}: {up}/{len(mine)} targets up — expected, nothing is deployed here yet",
                expected="targets up once the service runs",
                observed=detail,
                fix="none needed before the first deployment; DEPLOY verifies the targets afterwards",
                evidence=evidence,
            )
        return _r(
            *base,
            status=CheckStatus.FAIL,
            summary=f"job {job!r}: {len(down)}/{len(mine)} targets down",
            expected="every target up",
            observed=detail,
            fix="check the service is running and its metrics endpoint answers at the scrape URL",
            evidence=evidence,
        )

    def _discovered_targets(
        self, job: str, targets: Sequence[ScrapeTarget], environment: str | None = None
    ) -> list[ScrapeTarget]:
        """Targets whose ``job`` label is ``job`` although their scrape config has another name.

        Service discovery may set the label (a file_sd target group with ``labels: {job: hello}``
        under a scrape config named ``file_sd``); the targets API reports the config's name as the
        pool, the series carry the label. ``up{job=...}`` names the instances; their health and last
        error come from the targets API. ``environment``: only targets with that ``environment`` label.
        """
        selector = f'job="{job}"' + (f',environment="{environment}"' if environment else "")
        try:
            samples = self.ports.prometheus.query(f"up{{{selector}}}")
        except AdapterError:
            return []
        instances = {s.labels.get("instance", "") for s in samples} - {""}
        found: dict[str, ScrapeTarget] = {}
        for target in targets:
            if target.instance in instances and target.instance not in found:
                found[target.instance] = ScrapeTarget(
                    job=job,
                    instance=target.instance,
                    health=target.health,
                    scrape_url=target.scrape_url,
                    last_error=target.last_error,
                )
        return list(found.values())

    def check_alert_rules(self, ctx: PhaseContext) -> CheckResult:
        minimum = ctx.config.measure.min_alert_rules
        groups = self.ports.prometheus.rule_groups()
        info = self.ports.prometheus.runtime_info()
        alerting = sum(1 for g in groups for r in g.rules if r.kind == "alerting")
        recording = sum(1 for g in groups for r in g.rules if r.kind == "recording")
        loaded = alerting + recording
        broken = [(g, r) for g in groups for r in g.errors]
        evidence: dict[str, Any] = {
            "groups": [
                {
                    "name": g.name,
                    "file": g.file,
                    "rules": len(g.rules),
                    "errors": [{"rule": r.name, "health": r.health, "last_error": r.last_error} for r in g.errors],
                }
                for g in groups
            ],
            "alerting": alerting,
            "recording": recording,
            "minimum": minimum,
            "reload_config_success": info.reload_config_success,
        }
        problems: list[str] = []
        fixes: list[str] = []
        if loaded < minimum:
            problems.append(f"{loaded} rules loaded, fewer than the {minimum} expected")
            fixes.append("add the missing rule files to Prometheus' rule_files and reload")
        for group, rule in broken:
            problems.append(
                f"rule {rule.name!r} in group {group.name!r} ({group.file}) is {rule.health}: {rule.last_error}"
            )
        if broken:
            fixes.append("fix the failing expressions (try them in the Prometheus query UI), then reload")
        if info.reload_config_success is False:
            problems.append(
                "Prometheus' last configuration reload failed: the rules shown are the previous ones, "
                "not what is on disk"
            )
            fixes.append("run 'promtool check rules <file>' and 'promtool check config', fix, reload")
        observed = f"{loaded} rules loaded ({alerting} alerting, {recording} recording) in {len(groups)} groups"
        return CheckResult(
            id="measure.alert_rules",
            title="Alert rules configured and healthy",
            status=CheckStatus.FAIL if problems else CheckStatus.PASS,
            summary="; ".join(problems) if problems else observed,
            expected=f"at least {minimum} rules (measure.min_alert_rules), every rule healthy",
            observed=observed + (f"; {len(broken)} in error" if broken else ""),
            fix="; ".join(fixes),
            evidence=evidence,
            metrics={"alert_rules_loaded": loaded},
        )

    def check_alertmanager(self, ctx: PhaseContext) -> CheckResult:
        # Right after a configuration reload Prometheus lists no Alertmanager until its discovery
        # has run again: give it a few seconds before calling the list empty.
        deadline = time.monotonic() + ALERTMANAGER_DISCOVERY_SECONDS
        from_prom = self.ports.prometheus.alertmanagers()
        while not any(a.active for a in from_prom) and time.monotonic() < deadline and not ctx.cancel.is_set():
            time.sleep(0.25)
            from_prom = self.ports.prometheus.alertmanagers()
        configured = ctx.environment.monitoring.alertmanager_url
        active = [a.url for a in from_prom if a.active]
        base = ("measure.alertmanager", "Prometheus connected to a ready Alertmanager")
        evidence: dict[str, Any] = {
            "active": active,
            "dropped": [a.url for a in from_prom if not a.active],
            "configured": configured,
        }
        if not active:
            return _r(
                *base,
                status=CheckStatus.FAIL,
                summary="Prometheus sends alerts to no Alertmanager: no alert would reach anyone",
                expected="at least one active Alertmanager in /api/v1/alertmanagers",
                observed="none active" + (f" ({len(evidence['dropped'])} dropped)" if evidence["dropped"] else ""),
                fix="add an alerting.alertmanagers entry to Prometheus' configuration and reload",
                evidence=evidence,
            )
        to_check = active
        if configured:
            wanted = _origin(configured)
            if not any(_origin(url) == wanted for url in active):
                return _r(
                    *base,
                    status=CheckStatus.FAIL,
                    summary=f"Prometheus does not send alerts to the configured Alertmanager {configured}",
                    expected=f"{configured} among Prometheus' active Alertmanagers",
                    observed=", ".join(active),
                    fix="point Prometheus' alerting.alertmanagers at it, or fix monitoring.alertmanager_url",
                    evidence=evidence,
                )
            to_check = [configured]
        readiness: dict[str, str] = {}
        for url in to_check:
            try:
                readiness[url] = "ready" if self.ports.alertmanager.ready(url) else "not ready"
            except AdapterError as exc:
                readiness[url] = f"unreachable: {exc.detail or exc.message}"
        evidence["readiness"] = readiness
        bad = {url: state for url, state in readiness.items() if state != "ready"}
        if bad:
            return _r(
                *base,
                status=CheckStatus.FAIL,
                summary="Alertmanager not ready: " + "; ".join(f"{u} {s}" for u, s in bad.items()),
                expected="every Alertmanager Prometheus uses answers /-/ready with 200",
                observed="; ".join(f"{u}: {s}" for u, s in readiness.items()),
                fix="start the Alertmanager (or fix the address Prometheus uses), then run MEASURE again",
                evidence=evidence,
            )
        return _r(
            *base,
            status=CheckStatus.PASS,
            summary=f"Prometheus sends alerts to {len(to_check)} ready Alertmanager(s)",
            expected="an active, ready Alertmanager",
            observed="; ".join(f"{u}: {s}" for u, s in readiness.items()),
            evidence=evidence,
        )

    # -- Grafana ------------------------------------------------------------------------------
    def _grafana_skip(self, ctx: PhaseContext, check_id: str, title: str) -> CheckResult | None:
        if self.ports.grafana is not None:
            return None
        reason = (
            f"Grafana is not configured for environment {ctx.environment_name!r} "
            f"(environments.{ctx.environment_name}.monitoring.grafana): not checked"
        )
        metrics: dict[str, MetricValue] = {}
        if check_id == "measure.grafana.dashboards":
            metrics["grafana_dashboards_count"] = None
        return CheckResult(
            id=check_id,
            title=title,
            status=CheckStatus.SKIP,
            summary=reason,
            observed="not configured",
            metrics=metrics,
        )

    def check_grafana_health(self, ctx: PhaseContext) -> CheckResult:
        title = "Grafana running"
        skipped = self._grafana_skip(ctx, "measure.grafana.health", title)
        if skipped is not None:
            return skipped
        assert self.ports.grafana is not None
        health = self.ports.grafana.health()
        database = str(health.get("database", "unknown"))
        ok = database == "ok"
        return CheckResult(
            id="measure.grafana.health",
            title=title,
            status=CheckStatus.PASS if ok else CheckStatus.FAIL,
            summary=f"Grafana {health.get('version', '')} at {self.ports.grafana.url}: database {database}",
            expected="/api/health: database ok",
            observed=f"database {database}",
            fix="" if ok else "check Grafana's database connection and its log",
            evidence={"url": self.ports.grafana.url, "health": health},
        )

    def check_grafana_dashboards(self, ctx: PhaseContext) -> CheckResult:
        title = "Grafana has the required dashboards"
        skipped = self._grafana_skip(ctx, "measure.grafana.dashboards", title)
        if skipped is not None:
            return skipped
        grafana = self.ports.grafana
        assert grafana is not None
        gconf = ctx.environment.monitoring.grafana
        required = list(gconf.dashboards) if gconf is not None else []
        found_refs = grafana.search_dashboards()
        found: dict[str, str] = {}
        for want in required:
            for ref in found_refs:
                if ref.uid == want or ref.title.strip().lower() == want.strip().lower():
                    found[want] = ref.uid
                    break
        missing = [w for w in required if w not in found]
        ctx.add_artifacts({"grafana_dashboard_uids": sorted(set(found.values()))})
        return CheckResult(
            id="measure.grafana.dashboards",
            title=title,
            status=CheckStatus.FAIL if missing else CheckStatus.PASS,
            summary=(
                f"{len(found)}/{len(required)} required dashboards present"
                + (f"; missing: {', '.join(missing)}" if missing else "")
            ),
            expected="present (by uid or title): " + ", ".join(required),
            observed=f"{len(found_refs)} dashboards in Grafana; required found: {', '.join(found) or 'none'}",
            fix="run 'bmad dashboards install --env " + ctx.environment_name + "'" if missing else "",
            evidence={"required": required, "found": found, "missing": missing, "all": [r.title for r in found_refs]},
            metrics={"grafana_dashboards_count": len(found)},
        )

    def check_grafana_datasource(self, ctx: PhaseContext) -> CheckResult:
        title = "Grafana can query its data source"
        skipped = self._grafana_skip(ctx, "measure.grafana.datasource", title)
        if skipped is not None:
            return skipped
        grafana = self.ports.grafana
        assert grafana is not None
        gconf = ctx.environment.monitoring.grafana
        wanted = gconf.datasource if gconf is not None else None
        sources = grafana.datasources()
        base = ("measure.grafana.datasource", title)
        if wanted:
            chosen = next((s for s in sources if wanted in (s.uid, s.name)), None)
        else:
            chosen = next((s for s in sources if s.is_default), None) or next(
                (s for s in sources if s.type == "prometheus"), None
            )
        evidence: dict[str, Any] = {"datasources": [{"uid": s.uid, "name": s.name, "type": s.type} for s in sources]}
        if chosen is None:
            return _r(
                *base,
                status=CheckStatus.FAIL,
                summary=f"no data source {wanted!r}"
                if wanted
                else "Grafana has no (default or Prometheus) data source",
                expected=f"data source {wanted}" if wanted else "a default or Prometheus data source",
                observed=", ".join(s.name for s in sources) or "no data sources",
                fix="add the Prometheus data source in Grafana (or fix monitoring.grafana.datasource)",
                evidence=evidence,
            )
        health = grafana.datasource_health(chosen.uid)
        evidence.update({"checked": chosen.uid, "message": health.message, "details": health.details})
        return _r(
            *base,
            status=CheckStatus.PASS if health.ok else CheckStatus.FAIL,
            summary=f"data source {chosen.name!r} ({chosen.type}): "
            + (health.message or ("OK" if health.ok else "error")),
            expected="the data source health check answers OK",
            observed=health.message or ("OK" if health.ok else "error"),
            fix=""
            if health.ok
            else f"check the data source's URL ({chosen.url or 'unset'}) and credentials in Grafana",
            evidence=evidence,
        )

    # -- end to end ---------------------------------------------------------------------------
    def check_e2e_metric(self, ctx: PhaseContext) -> CheckResult:
        title = "Test metric verified end-to-end"
        conf = ctx.config.measure.end_to_end
        if not conf.enabled:
            return CheckResult(
                id="measure.e2e_metric", title=title, status=CheckStatus.SKIP, summary="disabled (measure.end_to_end)"
            )
        gateway = self.ports.pushgateway
        if gateway is None:
            return CheckResult(
                id="measure.e2e_metric",
                title=title,
                status=CheckStatus.SKIP,
                summary=f"no Pushgateway configured for environment {ctx.environment_name!r} "
                f"(environments.{ctx.environment_name}.monitoring.pushgateway_url): end-to-end test not run",
            )
        token = uuid.uuid4().hex[:12]
        metric = f"bmad_measure_e2e_{token}"
        grouping = {"instance": f"bmad-{token}"}
        text = (
            f"# HELP {metric} bmad MEASURE end-to-end test metric\n# TYPE {metric} gauge\n"
            f'{metric}{{service="{ctx.config.service.name}",environment="{ctx.environment_name}"}} 1\n'
        )
        started = time.monotonic()
        gateway.push(conf.job, text, grouping=grouping)
        seen_after: float | None = None
        polls = 0
        try:
            deadline = started + conf.timeout_seconds
            while time.monotonic() < deadline and not ctx.cancel.is_set():
                polls += 1
                if self.ports.prometheus.query(metric):
                    seen_after = time.monotonic() - started
                    break
                time.sleep(conf.poll_seconds)
        finally:
            deleted = True
            try:
                gateway.delete(conf.job, grouping=grouping)
            except AdapterError:
                deleted = False
        evidence = {
            "metric": metric,
            "pushgateway": gateway.url,
            "job": conf.job,
            "grouping": grouping,
            "seconds_to_visible": round(seen_after, 3) if seen_after is not None else None,
            "polls": polls,
            "group_deleted": deleted,
        }
        if seen_after is None:
            return CheckResult(
                id="measure.e2e_metric",
                title=title,
                status=CheckStatus.FAIL,
                summary=f"pushed {metric} but Prometheus did not return it within {conf.timeout_seconds:g}s",
                expected=f"the metric queryable within {conf.timeout_seconds:g}s",
                observed=f"not returned after {polls} queries",
                fix="add the Pushgateway to Prometheus' scrape_configs (honor_labels: true) and reload",
                evidence=evidence,
                artifacts={"e2e_metric_seconds": None},
            )
        status = CheckStatus.PASS if deleted else CheckStatus.WARN
        return CheckResult(
            id="measure.e2e_metric",
            title=title,
            status=status,
            summary=f"test metric visible in Prometheus {seen_after:.2f}s after the push"
            + ("" if deleted else "; deleting the test group failed"),
            expected=f"the metric queryable within {conf.timeout_seconds:g}s, then its group deleted",
            observed=f"visible after {seen_after:.2f}s",
            fix="" if deleted else f"delete the group by hand: DELETE {gateway.url}/metrics/job/{conf.job}",
            evidence=evidence,
            artifacts={"e2e_metric_seconds": round(seen_after, 3)},
        )

    # -- baselines ----------------------------------------------------------------------------
    def baseline_queries(self, ctx: PhaseContext) -> list[BaselineQuery]:
        conf = ctx.config.measure
        queries = list(conf.baselines) if conf.baselines is not None else default_baselines()
        queries += list(conf.extra_baselines)
        if ctx.environment.target.kind == "kubernetes" and conf.kube_baselines:
            known = {q.name for q in queries}
            queries += [q for q in kube_baselines() if q.name not in known]
        return queries

    def check_baselines(self, ctx: PhaseContext) -> CheckResult:
        conf = ctx.config.measure
        values = {
            "job": self.scrape_job(ctx),
            "rate_window": conf.rate_window,
            "service": ctx.config.service.name,
            "environment": ctx.environment_name,
            "namespace": ctx.environment.target.kubernetes.namespace or "default",
        }
        captured: list[Baseline] = []
        for spec in self.baseline_queries(ctx):
            try:
                captured.append(
                    capture(
                        self.ports.prometheus,
                        spec,
                        query=render_query(spec.query, values),
                        policy=spec.no_data or conf.no_data,
                        at=self.started_at,
                        window_seconds=conf.baseline_window_seconds,
                        step_seconds=conf.baseline_step_seconds,
                    )
                )
            except Unreachable as exc:
                raise self._prometheus_down(exc, ctx) from None
        breakdowns: dict[str, Any] = {}
        if ctx.environment.target.kind == "kubernetes" and conf.kube_baselines:
            for key, (label, queries) in KUBE_BREAKDOWNS.items():
                rendered = {figure: render_query(q, values) for figure, q in queries.items()}
                try:
                    breakdowns[key] = capture_breakdown(
                        self.ports.prometheus, label=label, queries=rendered, at=self.started_at
                    )
                except Unreachable as exc:
                    raise self._prometheus_down(exc, ctx) from None
        with_data = [b for b in captured if not b.no_data and not b.error]
        failing = [b for b in captured if b.status is CheckStatus.FAIL]
        status = worst([b.status for b in captured])
        if not with_data and status is CheckStatus.PASS:
            status = CheckStatus.WARN  # nothing captured is never a silent pass
        baseline = {b.name: b.to_artifact() for b in captured}
        artifact_file = ctx.evidence.write_json(
            "measure/baseline.json", {"at": self.started_at.isoformat(), "baseline": baseline, **breakdowns}
        )
        lines = []
        for b in captured:
            if b.error:
                lines.append(f"{b.name}: query error: {b.error}")
            elif b.no_data:
                lines.append(f"{b.name}: NO DATA (policy {b.policy})")
            else:
                lines.append(f"{b.name}={_fmt(b.value)}{(' ' + b.unit) if b.unit else ''}")
            lines += [f"{b.name}: {note}" for note in b.notes]
        no_data = [b.name for b in captured if b.no_data]
        fixes = []
        if any(b.error for b in captured):
            fixes.append("fix the PromQL of the failing baseline queries (measure.baselines)")
        if any(b.no_data and b.policy == "fail" for b in captured):
            fixes.append(
                f"make sure Prometheus scrapes job {values['job']!r} and the service has traffic, "
                "or relax the query's no_data policy"
            )
        baseline_captured = bool(with_data) and not failing
        return CheckResult(
            id="measure.baselines",
            title="Baseline metrics captured",
            status=status,
            summary=f"{len(with_data)}/{len(captured)} baseline figures captured"
            + (f"; no data: {', '.join(no_data)}" if no_data else ""),
            expected="a value for every baseline query (no-data policy per query: fail / warn / skip)",
            observed="; ".join(lines),
            fix="; ".join(fixes),
            evidence={
                "at": self.started_at.isoformat(),
                "window_seconds": conf.baseline_window_seconds,
                "step_seconds": conf.baseline_step_seconds,
                "baseline": baseline,
                **{key: {"rows": len(rows)} for key, rows in breakdowns.items()},
            },
            evidence_files=(artifact_file,),
            metrics={"baseline_captured": baseline_captured},
            artifacts={"baseline": baseline, **breakdowns},
        )

    # -- load test ----------------------------------------------------------------------------
    def check_load_test(self, ctx: PhaseContext) -> CheckResult:
        title = "Load-test sweep within the SLO"
        conf = ctx.config.measure.load_test
        base = ("measure.load_test", title)
        if not conf.enabled:
            return _r(*base, status=CheckStatus.SKIP, summary="disabled (measure.load_test.enabled)")
        if ctx.options.get("load_test") is False:
            return _r(*base, status=CheckStatus.SKIP, summary="disabled for this run (--set load_test=false)")
        service_urls, source = self.service_urls(ctx)
        absolute = "://" in conf.request.url
        if not absolute and not service_urls:
            return _r(*base, status=CheckStatus.SKIP, summary=f"no URL to load-test: {source}")
        url = loadtest.request_url(service_urls[0] if service_urls else None, conf.request.url)
        replicas = () if absolute else tuple(loadtest.request_url(u, conf.request.url) for u in service_urls[1:])
        refused = loadtest.check_allowed(url, service_urls=service_urls, allowed_hosts=conf.allowed_hosts)
        if refused:
            return _r(
                *base,
                status=CheckStatus.FAIL,
                summary=refused,
                expected="the service's own URL or a host in measure.load_test.allowed_hosts",
                observed=url,
                fix="load-test only the service; to allow another host add it to measure.load_test.allowed_hosts",
                evidence={"url": url, "service_urls": service_urls, "allowed_hosts": list(conf.allowed_hosts)},
            )
        if not absolute and not self.deployed(ctx):
            return _r(
                *base,
                status=CheckStatus.SKIP,
                summary=(
                    f"nothing is deployed in {ctx.environment_name!r} yet (first release): no running service to "
                    "load-test; the sweep runs from the next release on"
                ),
                evidence={"url": url, "url_from": source},
            )
        if self.ports.load_generator is None:
            return _r(*base, status=CheckStatus.SKIP, summary="no load generator available")
        request = HttpRequest(
            method=conf.request.method,
            url=url,
            headers=dict(conf.request.headers),
            body=conf.request.body.encode("utf-8") if conf.request.body is not None else None,
            replicas=replicas,
        )
        generator = self.ports.load_generator(url)
        try:
            sweep = loadtest.run_sweep(generator, request, conf, cancel=ctx.cancel, progress=ctx.progress)
        finally:
            generator.close()
        rows = []
        metrics: dict[str, MetricValue] = {}
        for result in sweep.levels:
            breach = sweep.breach if result.concurrency == sweep.breach_level else ""
            rows.append(loadtest.level_artifact(result, slo_breach_text=breach))
            prefix = f"load_test_c{result.concurrency}"
            metrics.update(
                {
                    f"{prefix}_requests": result.requests,
                    f"{prefix}_success_rate": round(result.success_rate, 6),
                    f"{prefix}_rps": round(result.rps, 1),
                    f"{prefix}_p50_ms": result.p50_ms,
                    f"{prefix}_p95_ms": result.p95_ms,
                    f"{prefix}_p99_ms": result.p99_ms,
                    f"{prefix}_max_ms": result.max_ms,
                }
            )
        total = sum(r.requests for r in sweep.levels)
        file = ctx.evidence.write_json(
            "measure/load_test.json",
            {"url": url, "method": request.method, "runner": generator.name, "levels": rows, "breach": sweep.breach},
        )
        table = "; ".join(
            f"c={r.concurrency}: {r.requests} req, {r.success_rate:.2%} ok, {r.rps:.0f} req/s, "
            f"p50 {r.p50_ms:.1f} / p95 {r.p95_ms:.1f} / p99 {r.p99_ms:.1f} / max {r.max_ms:.1f} ms"
            for r in sweep.levels
        )
        first = sweep.levels[0] if sweep.levels else None
        if (
            first is not None
            and first.succeeded == 0
            and first.requests > 0
            and all(kind.startswith("connect") for kind in first.errors)
        ):
            status = CheckStatus.FAIL
            summary = f"the service does not accept connections at {url} ({', '.join(first.errors)})"
            fix = f"check the deployment answers at {url} ({source}), or fix monitoring.service_url"
        elif sweep.breach:
            status = CheckStatus.FAIL if conf.on_slo_breach == "fail" else CheckStatus.WARN
            summary = f"SLO broken at {sweep.breach_level} concurrent ({sweep.breach}); sweep stopped" + (
                f", levels not run: {sweep.not_run}" if sweep.not_run else ""
            )
            fix = "find the bottleneck at that concurrency (pool sizes, workers, timeouts) before deploying"
        elif sweep.cancelled:
            status, summary, fix = CheckStatus.WARN, f"cancelled; levels not run: {sweep.not_run}", ""
        else:
            status = CheckStatus.PASS
            summary = f"{len(sweep.levels)} levels within the SLO, {total} requests"
            fix = ""
        slo = conf.slo
        return _r(
            *base,
            status=status,
            summary=summary,
            expected=f"error rate <= {slo.max_error_rate:.2%}"
            + (f", p95 <= {slo.max_p95_ms:g} ms" if slo.max_p95_ms is not None else "")
            + f" at each of {conf.levels}",
            observed=table,
            fix=fix,
            evidence={
                "url": url,
                "replicas": list(replicas),
                "url_from": source,
                "runner": generator.name,
                "levels": rows,
                "breach": sweep.breach or None,
                "not_run": sweep.not_run,
            },
            evidence_files=(file,),
            metrics=metrics,
            artifacts={"load_test": rows},
        )


def _r(check_id: str, title: str, status: CheckStatus, **fields: Any) -> CheckResult:
    return CheckResult(id=check_id, title=title, status=status, **fields)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _fmt(value: float | None) -> str:
    if value is None:
        return "none"
    if value == 0 or 0.001 <= abs(value) < 1e6:
        return f"{value:.4g}"
    return f"{value:.3e}"
