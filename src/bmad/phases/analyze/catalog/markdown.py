"""docs/checks.md: the catalog rendered as one table per category."""

from __future__ import annotations

from collections.abc import Sequence

from bmad.phases.analyze.readiness_data import CatalogEntry, Category


def render_markdown(entries: Sequence[CatalogEntry] | None = None) -> str:
    """The checks page for ``entries`` (default: the whole catalog)."""
    if entries is None:
        from bmad.phases.analyze.catalog import catalog

        entries = catalog()
    lines = [
        "# Readiness checks (generated)",
        "",
        "Generated from the data files in `src/bmad/phases/analyze/catalog/` by "
        "`bmad checklist --markdown > docs/checks.md`. Do not edit by hand.",
        "",
        f"{len(entries)} checks. Severity: critical failures are a hard gate. "
        "'Guide' marks items the B-MAD guide's ANALYZE checklist names.",
        "",
    ]
    for category in Category:
        in_category = [e for e in entries if e.category is category]
        lines += [f"## {category.value} ({len(in_category)})", ""]
        lines += ["| ID | Check | Severity | Applies to | Guide | Fix |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [_row(e) for e in in_category]
        lines.append("")
    return "\n".join(lines)


def _row(entry: CatalogEntry) -> str:
    fix = entry.fix.replace("|", "\\|")
    title = entry.title.replace("|", "\\|")
    guide = "yes" if entry.guide else ""
    return f"| {entry.id} | {title} | {entry.severity.value} | {entry.describe_target()} | {guide} | {fix} |"
