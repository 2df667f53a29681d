"""After each run: write the release's runbook, checklist and report, and push bmad's own metrics."""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError
from bmad.core.models import Release

if TYPE_CHECKING:
    from bmad.config.models import BmadConfig
    from bmad.ledger.store import Ledger
    from bmad.reports.outputs import ReleaseOutputs


@datatype
class Published:
    outputs: ReleaseOutputs | None = None
    pushed: bool = False
    problems: list[str] = field(default_factory=list)
    push_skipped: str | None = None  # why bmad's own metrics were not pushed

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs.to_dict() if self.outputs else None,
            "own_metrics_pushed": self.pushed,
            "own_metrics_skipped": self.push_skipped,
            "problems": self.problems,
        }


def publish_release_outputs(config: BmadConfig, environment: str, release: Release, ledger: Ledger) -> Published:
    """Write the release's runbook, checklist and report, and push bmad's own metrics.

    Never raises for a reporting problem: a run's outcome does not depend on its paperwork; the
    problems are returned (and the CLI prints them). The release is read once, the others as outlines.
    """
    from bmad.reports.outputs import release_figures, snapshot_of, write_figures_outputs

    published = Published()
    gateway = config.environment(environment).monitoring.pushgateway_url
    if not config.reports.push_own_metrics:
        published.push_skipped = "reports.push_own_metrics is false"
    elif not gateway:
        published.push_skipped = f"no Pushgateway configured (environments.{environment}.monitoring.pushgateway_url)"
    pushing = published.push_skipped is None
    try:
        figures = release_figures(ledger, release)
    except BmadError as exc:
        published.problems.append(f"writing the reports failed: {exc}")
        if pushing:
            published.problems.append(f"pushing bmad's own metrics failed: {exc}")
        return published
    try:
        published.outputs = write_figures_outputs(
            figures, config.resolve_path(config.reports.output_dir), state_dir=config.state_path
        )
    except (BmadError, OSError) as exc:
        published.problems.append(f"writing the reports failed: {exc}")
    if pushing and gateway:
        from bmad.adapters.own_metrics import ledger_group_id, push_own_metrics  # the HTTP client: only to push

        try:
            snapshot = snapshot_of(figures, ledger.now)
            push_own_metrics(gateway, **snapshot.as_kwargs(), ledger_id=ledger_group_id(ledger.url))
            published.pushed = True
        except BmadError as exc:
            published.problems.append(f"pushing bmad's own metrics failed: {exc}")
    return published
