"""`bmad` commands owned by the analyze area: ``checklist`` and ``assess``, plus the renderer the
generic ``bmad analyze`` command (cli/core.py) calls for ``--format table|json|junit|sarif`` and
``--output FILE``: :func:`render_analyze`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bmad.cli.options import DEFAULT_CONFIG, ConfigOpt, JsonOpt, guard

if TYPE_CHECKING:
    from bmad.core.models import PhaseResult

FORMATS = ("table", "json", "junit", "sarif")


def render_analyze(
    result: PhaseResult,
    *,
    fmt: str = "table",
    output: Path | None = None,
    config_file: str = "bmad.yaml",
    verbose: bool = False,
) -> str:
    """Render an ANALYZE phase result (fresh or from the ledger) as table/json/junit/sarif.

    With ``output`` the text is written to that file and a one-line note is returned; otherwise
    the text itself is returned for printing. Raises UsageError for an unknown format or a
    result without the ``readiness`` artifact (ANALYZE did not get far enough).
    """
    from bmad.core.errors import UsageError
    from bmad.engine.assessment import render_readiness as render

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="one of " + ", ".join(FORMATS))
    report = result.artifacts.get("readiness")
    if not isinstance(report, dict):
        for check in result.checks:
            if check.id == "analyze.readiness" and isinstance(check.artifacts.get("readiness"), dict):
                report = check.artifacts["readiness"]
    if not isinstance(report, dict):
        raise UsageError("this ANALYZE result has no readiness report (the phase stopped before it ran)")
    extra = {key: value for key, value in result.metrics.items()}
    text = render(
        report, fmt, extra=extra if fmt in ("table", "json") else None, default_file=config_file, verbose=verbose
    )
    if output is None:
        return text
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return f"wrote {fmt} report to {output}"


CategoryOpt = Annotated[
    str | None,
    typer.Option("--category", help="testing | security | monitoring | infrastructure | reliability"),
]
CatalogJsonOpt = Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Print docs/checks.md.")]
AssessEnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment.")]
ChangeTypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--change-type",
        "-t",
        help="production_api | schema_migration | security_patch | infrastructure | dependency_update | "
        "config_tuning | development (repeatable). Default: inferred from git.",
    ),
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Compare with this git ref (default: the last deployed release).")
]


def register(app: typer.Typer) -> None:
    app.command()(checklist)
    app.command()(assess)


def checklist(category: CategoryOpt = None, json_out: CatalogJsonOpt = False, markdown: MarkdownOpt = False) -> None:
    """List the readiness catalog: id, severity, title and how to fix, grouped by category."""
    from bmad.cli._render import fail, print_json
    from bmad.engine.assessment import Category, catalog, render_markdown

    try:
        wanted = Category.from_slug(category) if category else None
    except ValueError as exc:
        from bmad.core.errors import UsageError

        fail(UsageError(str(exc)), as_json=json_out)
    entries = [e for e in catalog() if wanted is None or e.category is wanted]
    if markdown:
        typer.echo(render_markdown())
    elif json_out:
        print_json({"count": len(entries), "checks": [_catalog_entry(e) for e in entries]})
    else:
        _print_catalog(entries)


def _catalog_entry(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "title": e.title,
        "category": e.category.value,
        "severity": e.severity.value,
        "scope": e.scope.value,
        "applies_to": list(e.applies_to),
        "rationale": e.rationale,
        "fix": e.fix,
        "guide": e.guide,
    }


def _print_catalog(entries: list[Any]) -> None:
    from bmad.engine.assessment import Category

    for cat in Category:
        rows = [e for e in entries if e.category is cat]
        if not rows:
            continue
        typer.echo(f"{cat.value} ({len(rows)})")
        for e in rows:
            typer.echo(f"  {e.id}  {e.severity.value:<8} {e.title}")
            typer.echo(f"          fix: {e.fix}")
    typer.echo(f"{len(entries)} checks")


def assess(
    config: ConfigOpt = DEFAULT_CONFIG,
    env: AssessEnvOpt = None,
    change_type: ChangeTypeOpt = None,
    since: SinceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Risk assessment with the guide's decision matrix: risk level, reasons, mitigations required for HIGH."""

    def action() -> None:
        from bmad.cli._render import print_json
        from bmad.engine.assessment import assess_change

        assessment = assess_change(config, env, change_type, since)
        if json_out:
            print_json(assessment.to_dict())
        else:
            typer.echo(assessment.render())

    guard(action, as_json=json_out)
