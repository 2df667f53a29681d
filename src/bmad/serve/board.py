"""The board: services × environments, what serves in each and how its last release went."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import datetime

from bmad.core.datatypes import datatype
from bmad.reports.views import Outcome, ReleaseView
from bmad.serve.layout import age, badge, esc, layout, phase_strip, query

RECENT_ROWS = 50  # releases listed under the board


@datatype(frozen=True)
class BoardFilter:
    """The board's query string: each field narrows what is shown when set."""

    service: str | None = None
    environment: str | None = None
    outcome: str | None = None

    def keeps(self, view: ReleaseView) -> bool:
        return (
            (self.service is None or view.service == self.service)
            and (self.environment is None or view.environment == self.environment)
            and (self.outcome is None or view.outcome.value == self.outcome)
        )

    def as_query(self) -> str:
        return query({"service": self.service, "environment": self.environment, "outcome": self.outcome})


@datatype(frozen=True)
class Cell:
    """One (service, environment): its newest release and the newest one that succeeded."""

    last: ReleaseView
    serving: ReleaseView | None


@datatype(frozen=True)
class BoardSummary:
    """What every board needs from one load of the releases, worked out once per load: each
    release's outcome, the cells, the filter's choices and the fingerprint."""

    views: tuple[ReleaseView, ...]  # oldest first
    outcomes: tuple[str, ...]  # views[i]'s outcome
    cells: dict[tuple[str, str], Cell]
    services: tuple[str, ...]
    environments: tuple[str, ...]
    fingerprint: str

    def keeps(self, chosen: BoardFilter, index: int) -> bool:
        view = self.views[index]
        return (
            (chosen.service is None or view.service == chosen.service)
            and (chosen.environment is None or view.environment == chosen.environment)
            and (chosen.outcome is None or self.outcomes[index] == chosen.outcome)
        )


def summarise(views: tuple[ReleaseView, ...]) -> BoardSummary:
    """The summary of ``views`` (oldest first)."""
    outcomes = tuple(view.outcome.value for view in views)
    newest: dict[tuple[str, str], ReleaseView] = {}
    serving: dict[tuple[str, str], ReleaseView] = {}
    for view, outcome in zip(views, outcomes, strict=True):
        key = (view.service, view.environment)
        newest[key] = view
        if outcome == Outcome.SUCCESS.value:
            serving[key] = view
    return BoardSummary(
        views=views,
        outcomes=outcomes,
        cells={key: Cell(last, serving.get(key)) for key, last in newest.items()},
        services=tuple(sorted({v.service for v in views})),
        environments=tuple(sorted({v.environment for v in views})),
        fingerprint=fingerprint(views),
    )


def board_cells(summary: BoardSummary, chosen: BoardFilter) -> dict[tuple[str, str], Cell]:
    """The cells whose newest release passes ``chosen``."""
    return {key: cell for key, cell in summary.cells.items() if chosen.keeps(cell.last)}


def fingerprint(views: Sequence[ReleaseView]) -> str:
    """Changes whenever a release is added or any phase of one changes status."""
    digest = hashlib.sha256()
    for view in views:
        statuses = ",".join(f"{p.value}:{r.status.value}:{r.finished_at}" for p, r in view.phases.items())
        digest.update(f"{view.release_id}|{statuses}|{len(view.rollbacks)};".encode())
    return digest.hexdigest()[:32]


def render_board(summary: BoardSummary, chosen: BoardFilter, now: datetime) -> str:
    cells = board_cells(summary, chosen)
    services = sorted({s for s, _ in cells})
    environments = sorted({e for _, e in cells})
    parts = ["<h1>Releases board</h1>", _filters(summary, chosen)]
    if not cells:
        parts.append('<p class="na">No release matches.</p>')
    else:
        head = "".join(f"<th>{esc(env)}</th>" for env in environments)
        rows = []
        for service in services:
            tds = "".join(_cell(cells.get((service, env)), now) for env in environments)
            rows.append(f"<tr><th>{esc(service)}</th>{tds}</tr>")
        parts.append(f'<table class="board"><tr><th>service \\ environment</th>{head}</tr>{"".join(rows)}</table>')
    parts.append(_recent(summary, chosen, now))
    events = f"/events/board{chosen.as_query()}"
    attrs = f' data-events="{esc(events)}" data-fingerprint="{esc(summary.fingerprint)}"'
    return layout("bmad: releases board", "\n".join(parts), current="board", script=True, body_attrs=attrs)


def _cell(cell: Cell | None, now: datetime) -> str:
    if cell is None:
        return '<td class="na">–</td>'
    last = cell.last
    serving = (
        f"<code>{esc(cell.serving.release.short_version)}</code>"
        if cell.serving is not None
        else '<span class="na">nothing deployed</span>'
    )
    return (
        f"<td>serving {serving}<br>{badge(last.outcome.value)} <small>{esc(_ago(last, now))}</small><br>"
        f'{phase_strip(last)} <a href="/release/{esc(last.release_id)}">'
        f"#{esc(last.release_id)} {esc(last.release.short_version)}</a></td>"
    )


def _ago(view: ReleaseView, now: datetime) -> str:
    when = view.when or view.created_at
    return age((now - when).total_seconds()) if when is not None else "–"


def _filters(summary: BoardSummary, chosen: BoardFilter) -> str:
    def select(name: str, values: Sequence[str], current: str | None) -> str:
        options = ['<option value="">all</option>'] + [
            f'<option value="{esc(v)}"{" selected" if v == current else ""}>{esc(v)}</option>' for v in values
        ]
        return f'<label>{name}<select name="{name}">{"".join(options)}</select></label>'

    outcomes = [o.value for o in Outcome]
    return (
        '<form class="filters" method="get" action="/">'
        + select("service", summary.services, chosen.service)
        + select("environment", summary.environments, chosen.environment)
        + select("outcome", outcomes, chosen.outcome)
        + '<button type="submit">Filter</button></form>'
    )


def _recent(summary: BoardSummary, chosen: BoardFilter, now: datetime) -> str:
    kept = (summary.views[i] for i in range(len(summary.views) - 1, -1, -1) if summary.keeps(chosen, i))
    newest = list(itertools.islice(kept, RECENT_ROWS))
    if not newest:
        return ""
    rows = "".join(
        f'<tr><td><a href="/release/{esc(v.release_id)}">#{esc(v.release_id)}</a></td><td>{esc(v.service)}</td>'
        f"<td>{esc(v.environment)}</td><td><code>{esc(v.release.short_version)}</code></td>"
        f"<td>{badge(v.outcome.value)}</td><td>{phase_strip(v)}</td>"
        f"<td>{esc(_ago(v, now))}</td></tr>"
        for v in newest
    )
    return (
        f"<h2>Latest releases ({len(newest)} shown)</h2><table><tr><th>Release</th><th>Service</th>"
        f"<th>Environment</th><th>Version</th><th>Outcome</th><th>Phases</th><th>When</th></tr>{rows}</table>"
    )
