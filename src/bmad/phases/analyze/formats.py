"""Renderers for ANALYZE results: human table, JSON, JUnit XML, SARIF 2.1.0.

They read the ``readiness`` artifact (``ReadinessReport.to_dict()``), so they work the same on a
fresh run and on a stored phase record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bmad import __version__
from bmad.core.junit import JUnitCase, JUnitReport
from bmad.core.sarif import SECURITY_SEVERITY, SarifLog, level_for_severity, logical_location
from bmad.phases.analyze.catalog import catalog_by_id
from bmad.phases.analyze.readiness_data import Category

FORMATS = ("table", "json", "junit", "sarif")
_MARK = {"pass": "✓", "fail": "✗", "not_applicable": "-", "skipped": "?"}


def _items_by_category(report: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {c.value: [] for c in Category}
    for item in report.get("items", []):
        grouped.setdefault(str(item["category"]), []).append(item)
    return grouped


def _where(finding: Mapping[str, Any]) -> str:
    parts = []
    if finding.get("object"):
        parts.append(str(finding["object"]))
    if finding.get("file"):
        parts.append(f"{finding['file']}:{finding['line']}" if finding.get("line") else str(finding["file"]))
    return " ".join(f"({p})" if i else p for i, p in enumerate(parts))


def render_table(report: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None, verbose: bool = False) -> str:
    """Results grouped by category, failures first with the fix for each."""
    lines: list[str] = []
    scores = report.get("category_scores", {})
    for category, items in _items_by_category(report).items():
        if not items:
            continue
        counts: dict[str, int] = {}
        for item in items:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        score = scores.get(category)
        score_text = f"score {score:.1f}" if isinstance(score, int | float) else "score n/a"
        lines.append(
            f"{category} — {score_text} ({counts.get('pass', 0)} pass, {counts.get('fail', 0)} fail, "
            f"{counts.get('skipped', 0)} skipped, {counts.get('not_applicable', 0)} n/a)"
        )
        order = {"fail": 0, "skipped": 1, "pass": 2, "not_applicable": 3}
        for item in sorted(items, key=lambda i: (order.get(i["status"], 9), i["id"])):
            status = item["status"]
            suppressed = [f for f in item.get("findings", []) if f.get("suppressed")]
            if status == "fail":
                lines.append(f"  {_MARK[status]} {item['id']} [{item['severity']}] {item['title']}")
                for finding in [f for f in item.get("findings", []) if not f.get("suppressed")][:10]:
                    where = _where(finding)
                    lines.append(f"      {where + ': ' if where else ''}{finding['message']}")
                more = item.get("failed", 0) - 10
                if more > 0:
                    lines.append(f"      ... and {more} more")
                lines.append(f"      fix: {item['fix']}")
            elif status == "skipped":
                lines.append(
                    f"  {_MARK[status]} {item['id']} [{item['severity']}] {item['title']}: skipped, {item['reason']}"
                )
            elif verbose or suppressed:
                reason = f": {item['reason']}" if status == "not_applicable" else ""
                lines.append(f"  {_MARK[status]} {item['id']} {item['title']}{reason}")
            for finding in suppressed:
                lines.append(f"      suppressed {_where(finding)}: {finding['message']} — {finding['suppressed']}")
        lines.append("")
    for note in report.get("suppression_notes", []):
        lines.append(f"note: {note}")
    if not report.get("suppressions_enabled", True):
        lines.append("note: suppressions disabled (--no-suppressions)")
    critical = report.get("critical_failures", [])
    overall = report.get("overall_score")
    lines.append(
        f"readiness_checklist_complete: {report.get('readiness_checklist_complete')}%  "
        f"overall score: {overall if overall is not None else 'n/a'}  "
        f"critical failures: {', '.join(critical) if critical else 'none'}"
    )
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def render_json(report: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None) -> str:
    data = {"schema": "bmad.analyze/1", **report}
    if extra:
        data.update(extra)
    return json.dumps(data, indent=2, default=str)


def to_junit(report: Mapping[str, Any], *, name: str = "bmad analyze") -> JUnitReport:
    junit = JUnitReport(name)
    for category, items in _items_by_category(report).items():
        suite = junit.suite(category)
        slug = Category(category).slug if category in {c.value for c in Category} else category
        for item in items:
            findings = item.get("findings", [])
            failures = [f for f in findings if not f.get("suppressed")]
            first = failures[0] if failures else {}
            status = {"pass": "pass", "fail": "fail", "not_applicable": "skip", "skipped": "skip"}[item["status"]]
            body = "\n".join(f"{_where(f)}: {f['message']}" for f in failures)
            if failures:
                body += f"\nfix: {item['fix']}"
            props = [("severity", str(item["severity"]))]
            props += [("suppressed", f"{_where(f)}: {f['suppressed']}") for f in findings if f.get("suppressed")]
            suite.add(
                JUnitCase(
                    name=f"{item['id']} {item['title']}",
                    classname=f"bmad.analyze.{slug}",
                    status=status,
                    message=str(first.get("message") or item.get("reason") or ""),
                    body=body,
                    file=first.get("file"),
                    line=first.get("line"),
                    properties=tuple(props),
                )
            )
    return junit


def to_sarif(report: Mapping[str, Any], *, default_file: str | None = "bmad.yaml") -> SarifLog:
    """SARIF 2.1.0: one rule per catalog item, one result per failing or suppressed finding."""
    log = SarifLog()
    run = log.run("bmad", version=__version__, docs_page="checks.md")
    entries = catalog_by_id()
    for item in report.get("items", []):
        entry = entries.get(item["id"])
        severity = str(item["severity"])
        run.rule(
            item["id"],
            name=entry.name if entry else item["id"],
            short=item["title"],
            full=entry.rationale if entry else item["title"],
            help_text=f"{entry.rationale if entry else ''}\nFix: {item['fix']}".strip(),
            level=level_for_severity(severity),
            tags=[item["category"], severity, *(["security"] if item["category"] == Category.SECURITY.value else [])],
            properties={"category": item["category"], "severity": severity},
            security_severity=SECURITY_SEVERITY.get(severity),
        )
    for item in report.get("items", []):
        for finding in item.get("findings", []):
            logical = []
            if finding.get("kind"):
                logical.append(
                    logical_location(
                        str(finding["object"]), kind="resource", name=finding.get("container") or finding.get("name")
                    )
                )
            file = finding.get("file") or default_file
            run.result(
                item["id"],
                message=f"{item['title']}: {finding['message']}. Fix: {item['fix']}",
                level=level_for_severity(str(item["severity"])),
                file=file,
                line=finding.get("line") or 1,
                logical=logical,
                suppression=finding.get("suppressed"),
                properties={"category": item["category"]},
            )
    return log


def render(
    report: Mapping[str, Any],
    fmt: str,
    *,
    extra: Mapping[str, Any] | None = None,
    default_file: str | None = "bmad.yaml",
    verbose: bool = False,
) -> str:
    if fmt == "table":
        return render_table(report, extra=extra, verbose=verbose)
    if fmt == "json":
        return render_json(report, extra=extra)
    if fmt == "junit":
        return to_junit(report).to_xml()
    if fmt == "sarif":
        return to_sarif(report, default_file=default_file).to_json()
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
