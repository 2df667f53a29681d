"""ANALYZE's rollback plan as a Markdown document: facts, where it returns to, commands, how to verify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmad.reports import facts as fx
from bmad.reports.facts import NOT_RECORDED
from bmad.reports.metrics import format_duration
from bmad.reports.text import markdown_text, printable
from bmad.reports.views import ReleaseView

ROLLBACK_PLAN_FILE = "rollback-plan.md"

_PLAN_FACTS = {
    "what": "What is rolled back",
    "target": "Target",
    "service": "Service",
    "environment": "Environment",
    "release": "Release being deployed",
    "first_deployment": "First deployment",
}
_PLAN_SECTIONS = {"to": "Returns to", "commands": "Commands", "verify": "How to verify"}


def render_rollback_plan(view: ReleaseView) -> str | None:
    """ANALYZE's rollback plan as a Markdown document (the runbook links to it); None when none was recorded."""
    plan = fx.rollback_plan(view)
    if plan is None:
        return None
    md = markdown_text
    lines = [f"# Rollback plan: {md(view.service)} {view.release.short_version} ({md(view.environment)})", ""]
    if isinstance(plan, Mapping):
        lines.extend(_plan_lines(plan))
    else:
        lines.extend(_block(plan))
    snap = fx.snapshot(view)
    if snap is not None:
        lines.extend(["## Rollback point (snapshot)", "", *_block(snap), ""])
    return "\n".join(lines).rstrip("\n") + "\n"


def _plan_lines(plan: Mapping[str, Any]) -> list[str]:
    md = markdown_text
    lines = [f"**{label}**: {md(_scalar(plan[key]))}  " for key, label in _PLAN_FACTS.items() if key in plan]
    if "expected_seconds" in plan:
        basis = f" ({md(plan['expected_basis'])})" if plan.get("expected_basis") else ""
        lines.append(f"**Expected time**: {format_duration(_seconds(plan['expected_seconds']))}{basis}  ")
    lines.append("")
    shown = {*_PLAN_FACTS, *_PLAN_SECTIONS, "expected_seconds", "expected_basis"}
    sections = [(label, plan[key]) for key, label in _PLAN_SECTIONS.items() if key in plan]
    sections += [(_label(key), value) for key, value in plan.items() if key not in shown]
    for label, value in sections:
        if value in (None, "", [], {}):
            continue
        lines.extend([f"## {md(label)}", ""])
        lines.extend(_commands(value) if label == "Commands" else _block(value))
        lines.append("")
    return lines


def _label(key: object) -> str:
    return str(key).replace("_", " ").capitalize()


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return NOT_RECORDED
    if isinstance(value, list | tuple):
        return ", ".join(_scalar(v) for v in value) or "none"
    return str(value)


def _block(value: Any) -> list[str]:
    """A value as Markdown: a paragraph, a numbered list, or one bullet per key (nested one level)."""
    md = markdown_text
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            if isinstance(item, Mapping):
                lines.append(f"- {md(_label(key))}:")
                lines.extend(f"  - {md(_label(k))}: {md(_scalar(v))}" for k, v in item.items())
            else:
                lines.append(f"- {md(_label(key))}: {md(_scalar(item))}")
        return lines
    if isinstance(value, list | tuple):
        return [f"{n}. {md(_scalar(item))}" for n, item in enumerate(value, 1)]
    return [md(_scalar(value))]


def _commands(value: Any) -> list[str]:
    """Commands as an indented code block (nothing in a command can end it), one per line."""
    commands = value if isinstance(value, list | tuple) else [value]
    return [f"    {line}" for command in commands for line in printable(command).splitlines()]
