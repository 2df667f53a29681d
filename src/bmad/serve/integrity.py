"""The ledger's hash chain: whether it verifies, and the newest record it covers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bmad.core.datatypes import datatype
from bmad.reports.metrics import format_duration
from bmad.serve.layout import esc, layout

if TYPE_CHECKING:
    from bmad.engine.runner import Ledger
    from bmad.ledger.records import PhaseRunRecord, ReleaseHistory, VerifyReport

NewestChained = tuple["ReleaseHistory", "PhaseRunRecord"]


@datatype(frozen=True)
class Verification:
    """A verification of the hash chain and when it ran (the ledger's clock)."""

    report: VerifyReport
    verified_at: datetime


class VerifiedChain:
    """The chain's verification, run again only when something was written to the database since the
    last one (its change stamp or write marker moved; every time where the database cannot tell)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()  # one verification at a time; the others wait for its result
        self._kept: tuple[tuple[str, str], Verification] | None = None
        self.verifications = 0

    def current(self) -> Verification:
        with self._lock:
            marker = self._ledger.write_marker()
            key = (self._ledger.change_stamp(), marker or "")  # read before verifying: a later write moves it
            if marker is None or self._kept is None or self._kept[0] != key:
                self.verifications += 1
                self._kept = (key, Verification(self._ledger.verify(), self._ledger.now()))
            return self._kept[1]


def newest_chained(histories: Sequence[ReleaseHistory]) -> NewestChained | None:
    """The phase run with the highest chain sequence number, with its release."""
    best: NewestChained | None = None
    for history in histories:
        for run in history.runs:
            if run.chain_seq is not None and (best is None or run.chain_seq > (best[1].chain_seq or 0)):
                best = (history, run)
    return best


def render_integrity(verification: Verification, newest: NewestChained | None, dialect: str) -> str:
    report = verification.report
    if report.ok:
        verdict = f'<p class="ok-banner">Verified: the hash chain of {report.checked} record(s) is intact.</p>'
    else:
        verdict = (
            f'<p class="bad-banner">Not verified: {len(report.problems)} problem(s) in the hash chain '
            f"({report.checked} record(s) read).</p><ul>"
            + "".join(f"<li>{esc(problem)}</li>" for problem in report.problems)
            + "</ul>"
        )
    when = (
        f"<p>Verified at {esc(verification.verified_at.isoformat(timespec='seconds'))};"
        " verified again when anything is written to the ledger.</p>"
    )
    parts = [
        "<h1>Ledger integrity</h1>",
        verdict,
        when,
        f"<p>Database: {esc(dialect)}.</p>",
        _last_record(report, newest),
    ]
    return layout("bmad: ledger integrity", "\n".join(parts), current="integrity")


def _last_record(report: VerifyReport, found: NewestChained | None) -> str:
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
