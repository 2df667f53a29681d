"""`bmad` commands owned by the analyze area: ``checklist`` and ``assess``, plus the renderer the
generic ``bmad analyze`` command (cli/core.py) calls for ``--format table|json|junit|sarif`` and
``--output FILE``: :func:`render_analyze`.
"""

from __future__ import annotations

from bmad.cli.options import add_config, add_json, config_of

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds on the help path

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from bmad.core.models import PhaseResult

CATEGORIES = ("testing", "security", "monitoring", "infrastructure", "reliability")
CHANGE_TYPES = (
    "production_api | schema_migration | security_patch | infrastructure | dependency_update | "
    "config_tuning | development"
)


def render_analyze(
    result: PhaseResult,
    *,
    fmt: str = "table",
    output: Path | None = None,
    config_file: str = "bmad.yaml",
    verbose: bool = False,
    whole: dict[str, Any] | None = None,
) -> str:
    """Render an ANALYZE phase result (fresh or from the ledger) as table/json/junit/sarif.

    With ``output`` the text is written to that file and a one-line note is returned; otherwise
    the text itself is returned for printing. Raises UsageError for an unknown format or a
    result without the ``readiness`` artifact (ANALYZE did not get far enough).
    """
    from bmad.cli.release_run import FORMATS
    from bmad.core.errors import UsageError
    from bmad.engine.assessment import render_readiness as render

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="one of " + ", ".join(FORMATS))
    # ``whole``: the report as the run wrote it to analyze/readiness.json, every finding; the artifact
    # keeps MAX_FINDINGS_PER_ITEM an item (a SARIF for code scanning would lack the rest)
    report = whole if isinstance(whole, dict) else result.artifacts.get("readiness")
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


def checklist_command(parser: argparse.ArgumentParser) -> None:
    parser.description = "List the readiness catalog: id, severity, title and how to fix, grouped by category."
    parser.add_argument("--category", metavar="CATEGORY", help=" | ".join(CATEGORIES))
    add_json(parser, "Print the catalog as JSON.")
    parser.add_argument("--markdown", action="store_true", help="Print docs/checks.md.")
    parser.set_defaults(handler=checklist)


def checklist(args: argparse.Namespace) -> None:
    """List the readiness catalog: id, severity, title and how to fix, grouped by category."""
    from bmad.cli._render import echo, print_json
    from bmad.core.errors import UsageError
    from bmad.engine.assessment import Category, catalog, render_markdown

    try:
        wanted = Category.from_slug(args.category) if args.category else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    entries = [e for e in catalog() if wanted is None or e.category is wanted]
    if args.markdown:
        echo(render_markdown())
    elif args.json:
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
    from bmad.cli._render import echo
    from bmad.engine.assessment import Category

    for cat in Category:
        rows = [e for e in entries if e.category is cat]
        if not rows:
            continue
        echo(f"{cat.value} ({len(rows)})")
        for e in rows:
            echo(f"  {e.id}  {e.severity.value:<8} {e.title}")
            echo(f"          fix: {e.fix}")
    echo(f"{len(entries)} checks")


def assess_command(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Risk assessment with the guide's decision matrix: risk level, reasons, mitigations required for HIGH."
    )
    add_config(parser)
    parser.add_argument("-e", "--env", metavar="NAME", help="Environment.")
    parser.add_argument(
        "-t",
        "--change-type",
        action="append",
        metavar="TYPE",
        help=f"{CHANGE_TYPES} (repeatable). Default: inferred from git.",
    )
    parser.add_argument(
        "--since", metavar="REF", help="Compare with this git ref (default: the last deployed release)."
    )
    add_json(parser)
    parser.set_defaults(handler=assess)


def assess(args: argparse.Namespace) -> None:
    """Risk assessment with the guide's decision matrix: risk level, reasons, mitigations required for HIGH."""
    from bmad.cli._render import echo, print_json
    from bmad.engine.assessment import assess_change

    assessment = assess_change(config_of(args), args.env, args.change_type, args.since)
    if args.json:
        print_json(assessment.to_dict())
    else:
        echo(assessment.render())


COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "checklist": checklist_command,
    "assess": assess_command,
}
