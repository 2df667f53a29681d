"""Who deployed a release, who was told, who watched it: from data where bmad has it, else who fills it in.

The deployer is the one the ledger recorded with the DEPLOY run (CI user or local user, the CI run's
page, the trigger). Records written before the ledger kept it (schema revision 0001) know only the
run's host and pid: a document written by the process that ran DEPLOY still names its CI actor;
one written later names the host and pid and says who should fill the row in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from bmad.core.ci import CI_ACTOR_VARIABLES, Deployer
from bmad.ledger.procs import this_host
from bmad.ports.notifications import DeliveryRecord
from bmad.reports.facts import NOT_RECORDED, fmt_time

# CI systems' documented variables for the person who started the pipeline, then the local login.
ACTOR_VARIABLES = (*CI_ACTOR_VARIABLES, "USER", "USERNAME", "LOGNAME")
FILL_IN = "the release manager fills this in"


def ci_actor(environ: Mapping[str, str] | None = None) -> str | None:
    """``name (VARIABLE)`` from the first of :data:`ACTOR_VARIABLES` that is set, else None."""
    env = os.environ if environ is None else environ
    for name in ACTOR_VARIABLES:
        value = (env.get(name) or "").strip()
        if value:
            return f"{value} ({name})"
    return None


def deployer_text(
    deploy_ran: bool,
    deploy_host: str | None,
    deploy_pid: int | None,
    environ: Mapping[str, str] | None = None,
    *,
    recorded: Deployer | None = None,
) -> str:
    """The Deployer row: who the ledger recorded with DEPLOY; for older records the actor when this
    process ran DEPLOY, else where it ran and who fills it in."""
    if not deploy_ran:
        return f"{NOT_RECORDED} (DEPLOY did not run); {FILL_IN}"
    if recorded is not None and recorded.recorded:
        return recorded.describe()
    if deploy_pid == os.getpid() and deploy_host == this_host():
        actor = ci_actor(environ)
        if actor is not None:
            return actor
    if deploy_pid is None:
        return f"{NOT_RECORDED}: the ledger does not say which process ran DEPLOY; {FILL_IN}"
    return f"{NOT_RECORDED}: DEPLOY ran as process {deploy_pid} on {deploy_host}; {FILL_IN}"


def team_notified_text(sent: Sequence[DeliveryRecord] = ()) -> str:
    """What bmad sent, to which channel, when, and whether it arrived; with none sent, who fills the row in."""
    if not sent:
        return f"{NOT_RECORDED}: bmad sends no notification; {FILL_IN} (who was told, when, where)"
    return "; ".join(_delivery_text(record) for record in sent)


def team_notified_ok(sent: Sequence[DeliveryRecord]) -> bool | None:
    """✓ when every notification arrived, ✗ when one did not, nothing when none was sent."""
    return all(record.delivered for record in sent) if sent else None


def _delivery_text(record: DeliveryRecord) -> str:
    outcome = "delivered" if record.delivered else f"NOT delivered: {record.reason}"
    when = fmt_time(record.sent_at, date=True)
    return f'{record.event} "{record.title}" to {record.channel} ({record.channel_type}) at {when}: {outcome}'
