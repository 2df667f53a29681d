"""The dashboard's page frame: escaping, the navigation bar, phase strips and security headers."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bmad.core.models import PhaseName, PhaseStatus
from bmad.reports.runbook import CSS
from bmad.reports.text import html_text
from bmad.reports.views import ReleaseView

# What a page may load: its own scripts and styles (inline styles: the report's SVG uses them),
# SVG as data: images, server-sent events from the same origin. Nothing from the internet.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_REPORT_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
# The stylesheet, and an empty icon so that browsers do not ask for /favicon.ico.
HEAD_LINKS = '<link rel="stylesheet" href="/static/serve.css"><link rel="icon" href="data:,">'
PHASE_LETTERS = {PhaseName.BUILD: "B", PhaseName.MEASURE: "M", PhaseName.ANALYZE: "A", PhaseName.DEPLOY: "D"}


def esc(value: object) -> str:
    """``value`` as HTML text or attribute: markup escaped, control characters shown as visible
    ``\\xNN`` escapes (the same convention as the HTML report's)."""
    return html_text(value)


def without_controls(text: str) -> str:
    """``text`` with every control character but tab, newline and carriage return replaced."""
    return _CONTROL.sub("\ufffd", text)


def query(params: Mapping[str, str | None]) -> str:
    """``?a=1&b=2`` of the non-empty ``params`` (URL-encoded), or an empty string."""
    from urllib.parse import urlencode

    kept = {k: v for k, v in params.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def nav(current: str) -> str:
    links = (("board", "/", "Board"), ("metrics", "/metrics", "Metrics"), ("integrity", "/integrity", "Ledger"))
    items = "".join(
        f'<a href="{href}"{" aria-current=page" if key == current else ""}>{label}</a>' for key, href, label in links
    )
    return f'<nav class="top"><b>bmad</b>{items}</nav>'


def layout(title: str, body: str, *, current: str, script: bool = False, body_attrs: str = "") -> str:
    """A complete page: the reports' CSS, the dashboard's stylesheet and (for live pages) its script."""
    tail = '<script src="/static/live.js" defer></script>' if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>{HEAD_LINKS}{tail}"
        f"</head><body{body_attrs}>\n{nav(current)}\n{body}\n</body></html>\n"
    )


def rehost(document: str, *, current: str, before: str = "", script: bool = False) -> str:
    """A page rendered by :mod:`bmad.reports` inside the dashboard: its own no-script CSP meta tag is
    dropped (the server's header takes over), the navigation bar and ``before`` go first."""
    head_extra = HEAD_LINKS
    if script:
        head_extra += '<script src="/static/live.js" defer></script>'
    page = _REPORT_CSP.sub("", document, count=1).replace("</head>", head_extra + "</head>", 1)
    return page.replace("<body>\n", f"<body>\n{nav(current)}\n{before}", 1)


def phase_strip(view: ReleaseView) -> str:
    """B M A D, each coloured by the status of its latest attempt."""
    cells = []
    for name in PhaseName.ordered():
        result = view.phase(name)
        status = result.status.value if result is not None else PhaseStatus.PENDING.value
        cells.append(
            f'<span class="ph s-{esc(status)}" title="{name.label}: {esc(status)}">{PHASE_LETTERS[name]}</span>'
        )
    return f'<span class="strip">{"".join(cells)}</span>'


def badge(status: str) -> str:
    return f'<span class="badge b-{esc(status)}">{esc(status)}</span>'


def age(seconds: float | None) -> str:
    """How long ago, roughly: ``45 s``, ``12 min``, ``5 h``, ``3 d``."""
    if seconds is None:
        return "–"
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"
