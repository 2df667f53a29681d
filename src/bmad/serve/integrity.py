"""The ledger's hash chain: whether it verifies, and the newest record it covers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bmad.reports.metrics import format_duration
from bmad.serve.layout import esc, layout

if TYPE_CHECKING:
    from bmad.ledger.records import PhaseRunRecord, ReleaseHistory, VerifyReport


def newest_chained(histories: Sequence[ReleaseHistory]) -> tuple[ReleaseHistory, PhaseRunRecord] | None:
    """The phase run with the highest chain sequence number, with its release."""
    best: tuple[ReleaseHistory, PhaseRunRecord] | None = None
    for history in histories:
        for run in history.runs:
            if run.chain_seq is not None and (best is None or run.chain_seq > (best[1].chain_seq or 0)):
                best = (history, run)
    return best


def render_integrity(report: VerifyReport, histories: Sequence[ReleaseHistory], dialect: str) -> str:
    if report.ok:
        verdict = f'<p class="ok-banner">Verified: the hash chain of {report.checked} record(s) is intact.</p>'
    else:
        verdict = (
            f'<p class="bad-banner">Not verified: {len(report.problems)} problem(s) in the hash chain '
            f"({report.checked} record(s) read).</p><ul>"
            + "".join(f"<li>{esc(problem)}</li>" for problem in report.problems)
            + "</ul>"
        )
    parts = ["<h1>Ledger integrity</h1>", verdict, f"<p>Database: {esc(dialect)}.</p>", _last_record(report, histories)]
    return layout("bmad: ledger integrity", "\n".join(parts), current="integrity")


def _last_record(report: VerifyReport, histories: Sequence[ReleaseHistory]) -> str:
    found = newest_chained(histories)
    if found is None:
        return '<p class="na">No phase run is chained yet.</p>'
    history, run = found
    label = "Last verified phase record" if report.ok else "Newest chained phase record (the chain does not verify)"
    rows = (
        ("Chain position", f"#{run.chain_seq}"),
        ("Release", f"#{history.id} {history.release.key}"),
        ("Phase", f"{run.phase.label} attempt {run.attempt}: {run.status.value}"),
        ("Finished", run.finished_at.isoformat() if run.finished_at else "–"),
        ("Duration", format_duration(run.duration_seconds)),
        ("Hash", run.hash or "–"),
    )
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    link = f'<p><a href="/release/{esc(history.id)}">the release of this record</a></p>'
    return f'<h2>{esc(label)}</h2><table class="meta">{body}</table>{link}'
