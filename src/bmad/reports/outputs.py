"""Writing a release's documents (runbook, checklist, report, rollback plan) and the metrics snapshot.

The engine calls :func:`write_release_outputs` at the end of every run; ``bmad report``,
``bmad runbook`` and ``bmad demo`` call it too. Files are written to a temporary name and
renamed into place, so a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError, UsageError
from bmad.core.files import write_atomic
from bmad.core.models import PhaseName, Release
from bmad.core.redact import redact
from bmad.ledger.evidence import finish_writes, redacted_as_written
from bmad.ledger.records import LATEST_ATTEMPTS
from bmad.ports.notifications import DeliveryRecord
from bmad.reports.exposition import render_prometheus
from bmad.reports.metrics import FrameworkMetrics, framework_metrics, render_table
from bmad.reports.report import render_report
from bmad.reports.rollback_plan import ROLLBACK_PLAN_FILE, render_rollback_plan
from bmad.reports.runbook import build_checklist, build_runbook, render_html, render_markdown
from bmad.reports.source import find_release, release_view
from bmad.reports.views import ReleaseView

if TYPE_CHECKING:
    from bmad.ledger.store import Ledger


@datatype(frozen=True)
class ReleaseOutputs:
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)  # runbook_md, runbook_html, checklist_md, ...

    def to_dict(self) -> dict[str, str]:
        return {"directory": str(self.directory), **{k: str(v) for k, v in self.files.items()}}


def write_file(path: Path, content: str) -> Path:
    """Write ``content`` atomically, redacted and owner-only (they may quote test output and reasons).

    Not flushed to disk: every document here is made again from the ledger by the next run.
    """
    return write_document(path, redact(content).encode("utf-8"))


def write_document(path: Path, data: bytes) -> Path:
    """``data`` at ``path`` (atomically, 0600), unless the file holds these bytes already with that
    mode and owner: most documents of a release (the CI copies of earlier phases' SARIF and JUnit, the
    checklist) are the same after a phase runs again, and a rename costs more than a read."""
    try:
        with path.open("rb") as handle:
            found = os.fstat(handle.fileno())
            ours = found.st_uid == os.getuid() and found.st_mode & 0o777 == 0o600
            if ours and handle.read(len(data) + 1) == data:
                return path
    except OSError:
        pass
    return write_atomic(path, data, durable=False)


def release_dir(out_dir: Path, view: ReleaseView) -> Path:
    return out_dir / view.service / view.environment / view.release.short_version


def collect_ci_files(view: ReleaseView, state_dir: Path, directory: Path) -> dict[str, Path]:
    """Copy the SARIF and JUnit files of the release's evidence folders to ``sarif/`` and ``junit/``.

    CI uploads them from one place (code scanning, test reports); names are ``<phase>-<file>``.
    """
    problems = finish_writes()  # files still being written aside (a large ANALYZE's SARIF and JUnit)
    found: dict[str, Path] = {}
    for phase, relative in view.evidence_dirs.items():
        folder = Path(relative) if Path(relative).is_absolute() else state_dir / relative
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            if path.suffix == ".sarif":
                kind = "sarif"
            elif path.suffix == ".xml" and ("junit" in path.name or "junit" in path.parent.name):
                kind = "junit"
            else:
                continue
            name = f"{phase.value}-{path.name}"
            target = directory / kind / name
            if redacted_as_written(path):  # written redacted by this run: the same bytes
                write_document(target, path.read_bytes())
            else:
                write_file(target, path.read_text(encoding="utf-8", errors="replace"))
            found[f"{kind}:{name}"] = target
    if problems:
        raise BmadError("; ".join(problems))
    return found


def write_view_outputs(
    view: ReleaseView,
    out_dir: Path,
    *,
    state_dir: Path | None = None,
    notified: Sequence[DeliveryRecord] = (),
) -> ReleaseOutputs:
    """Runbook (MD + HTML), checklist (MD + HTML), HTML report and rollback plan of one release
    (plus the SARIF/JUnit files of its evidence when ``state_dir`` is given; ``notified``: its
    notification deliveries, from the ledger, for the "Team notified" row)."""
    directory = release_dir(out_dir, view)
    files: dict[str, Path] = {}
    plan = render_rollback_plan(view)
    if plan is not None:
        files["rollback_plan"] = write_file(directory / ROLLBACK_PLAN_FILE, plan)
    runbook = build_runbook(
        view, rollback_plan_link=ROLLBACK_PLAN_FILE if plan is not None else None, notified=notified
    )
    files["runbook_md"] = write_file(directory / "runbook.md", render_markdown(runbook))
    files["runbook_html"] = write_file(directory / "runbook.html", render_html(runbook))
    checklist = build_checklist(view, notified=notified)
    files["checklist_md"] = write_file(directory / "checklist.md", render_markdown(checklist))
    files["checklist_html"] = write_file(directory / "checklist.html", render_html(checklist))
    links = {"runbook": "runbook.html", "checklist": "checklist.html"}
    if plan is not None:
        links["rollback plan"] = ROLLBACK_PLAN_FILE
    files["report_html"] = write_file(directory / "report.html", render_report(view, links=links))
    if state_dir is not None:  # last: evidence files still being written aside get the most time
        files.update(collect_ci_files(view, state_dir, directory))
    return ReleaseOutputs(directory=directory, files=files)


def find_view(ledger: Ledger, release: Release | int | str) -> ReleaseView:
    """A release of the ledger by :class:`Release`, or as :func:`~bmad.reports.source.find_release` finds a
    ledger id or version (a prefix of 4 or more characters; an ambiguous one raises). The view shows each phase's
    latest attempt: the earlier ones are not read; it looks an artifact up in its phase's artifacts
    before the checks': a check's copy of those is not read either."""
    if not isinstance(release, Release):
        release = find_release(ledger, str(release))
    history = ledger.get_release(
        release.service, release.environment, release.version, with_checks=LATEST_ATTEMPTS, shadowed_artifacts=False
    )
    if history is None:
        raise UsageError(f"release {release.key} is not in the ledger")
    return release_view(history)


@datatype(frozen=True)
class ReleaseFigures:
    """One release's view and the framework metrics of its (service, environment), read from the
    ledger in one query: the documents and bmad's own metrics are both made from it."""

    view: ReleaseView
    metrics: FrameworkMetrics
    notified: tuple[DeliveryRecord, ...] = ()


def release_figures(ledger: Ledger, release: Release | int | str) -> ReleaseFigures:
    """The release's view (read whole) and its (service, environment) metrics (from release outlines)."""
    view = find_view(ledger, release)
    release = view.release
    # the (service, environment) figures from outlines: every check of every release is not needed
    metrics = framework_metrics(ledger, service=release.service, environment=release.environment, now=ledger.now())
    return ReleaseFigures(view=view, metrics=metrics, notified=tuple(ledger.deliveries(release)))


def write_release_outputs(
    ledger: Ledger,
    release: Release | int | str,
    out_dir: str | Path,
    *,
    state_dir: str | Path | None = None,
) -> ReleaseOutputs:
    """The engine's hook at the end of a run: write the release's documents under ``out_dir``.

    ``out_dir`` is ``reports.output_dir`` of bmad.yaml resolved against its folder; files land in
    ``<out_dir>/<service>/<environment>/<version[:12]>/``. Also refreshes the framework metrics of
    the (service, environment) in ``<out_dir>/<service>/<environment>/metrics.{md,json,prom}``.
    With ``state_dir`` (bmad.yaml's state folder), the SARIF and JUnit evidence files are copied
    to ``sarif/`` and ``junit/`` next to the documents, for CI to upload.
    """
    return write_figures_outputs(release_figures(ledger, release), out_dir, state_dir=state_dir)


def write_figures_outputs(
    figures: ReleaseFigures, out_dir: str | Path, *, state_dir: str | Path | None = None
) -> ReleaseOutputs:
    """:func:`write_release_outputs` from figures already read."""
    view = figures.view
    outputs = write_view_outputs(
        view, Path(out_dir), state_dir=Path(state_dir) if state_dir else None, notified=figures.notified
    )
    extra = write_metrics_outputs(figures.metrics, Path(out_dir) / view.service / view.environment)
    return ReleaseOutputs(directory=outputs.directory, files={**outputs.files, **extra})


def write_metrics_outputs(metrics: FrameworkMetrics, directory: Path) -> dict[str, Path]:
    return {
        "metrics_md": write_file(directory / "metrics.md", render_table(metrics)),
        "metrics_json": write_file(directory / "metrics.json", json.dumps(metrics.to_dict(), indent=2) + "\n"),
        "metrics_prom": write_file(directory / "metrics.prom", render_prometheus(metrics)),
    }


@datatype(frozen=True)
class OwnMetricsSnapshot:
    """What bmad pushes about itself after a run (see :mod:`bmad.adapters.own_metrics`)."""

    service: str
    environment: str
    deployments: dict[str, int]  # result -> count, over the whole ledger (monotonic counters)
    phase_durations: dict[str, float]  # phase -> seconds, of this run's release
    rollbacks: int
    mttr_seconds: float | None
    last_result: str
    last_run_timestamp: float

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "deployments": self.deployments,
            "phase_durations": self.phase_durations,
            "rollbacks": self.rollbacks,
            "mttr_seconds": self.mttr_seconds,
            "last_result": self.last_result,
            "last_run_timestamp": self.last_run_timestamp,
        }


def own_metrics_snapshot(ledger: Ledger, release: Release | int | str) -> OwnMetricsSnapshot:
    return snapshot_of(release_figures(ledger, release), ledger.now)


def snapshot_of(figures: ReleaseFigures, now: Callable[[], datetime]) -> OwnMetricsSnapshot:
    """bmad's own metrics from figures already read; ``now`` stamps a release still running."""
    view, metrics = figures.view, figures.metrics
    durations = {
        name.value: result.duration_seconds
        for name in PhaseName.ordered()
        if (result := view.phase(name)) is not None and result.finished_at is not None
    }
    when = view.finished_at or now()
    return OwnMetricsSnapshot(
        service=view.service,
        environment=view.environment,
        deployments=metrics.by_result,
        phase_durations=durations,
        rollbacks=metrics.rolled_back,
        mttr_seconds=metrics.mttr.mean,
        last_result=view.outcome.value,
        last_run_timestamp=when.timestamp(),
    )
