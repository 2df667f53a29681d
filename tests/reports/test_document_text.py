"""What the runbook, checklist and rollback plan say: safe text, people, watch periods, a readable plan."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bmad.core.ci import Deployer
from bmad.ledger import Ledger, new_owner
from bmad.reports.outputs import write_release_outputs
from bmad.reports.people import ACTOR_VARIABLES, ci_actor
from bmad.reports.text import markdown_text, printable
from tests.reports.reports_data import Spec, record_demo_like

HOSTILE = "\x1b[2J\x1b]0;owned\x07 <script>alert(1)</script> \x9b31m <img src=x onerror=alert(2)>"


def test_control_characters_and_html_are_neutralised_everywhere(
    make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path
) -> None:
    """Guards against a --reason with terminal escapes or HTML written raw into report.html, runbook.md,
    runbook.html, checklist and rollback plan (issue 19)."""
    ledger = make_ledger([])
    release = record_demo_like(ledger, reason=HOSTILE)
    files = write_release_outputs(ledger, release, tmp_path).files
    documents = [path for key, path in files.items() if path.suffix in (".md", ".html")]
    assert len(documents) >= 6
    for path in documents:
        text = path.read_text(encoding="utf-8")
        for raw in ("\x1b", "\x07", "\x9b", "<script", "<img"):
            assert raw not in text, (path.name, repr(raw))
    runbook = files["runbook_md"].read_text()
    assert "- Root cause: \\x1b[2J\\x1b]0;owned\\x07 &lt;script>alert(1)&lt;/script>" in runbook
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in files["report_html"].read_text()


def test_markdown_text_keeps_comparisons() -> None:
    """A bound such as "<= 0.05" or "<500MB" is not a tag: it stays as written."""
    assert markdown_text("error_ratio <= 0.05, size <500MB") == "error_ratio <= 0.05, size <500MB"
    assert markdown_text("a <b>bold</b> <!-- c --> <?x?>") == "a &lt;b>bold&lt;/b> &lt;!-- c --> &lt;?x?>"
    assert printable("tab\tand\nnewline stay; \x00 \x7f do not") == "tab\tand\nnewline stay; \\x00 \\x7f do not"


def test_deployer_is_the_ci_actor_of_the_process_that_deployed(
    make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards against "Deployer: not recorded" when the CI says who started the deployment."""
    for name in ACTOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITLAB_USER_LOGIN", "release-bot")
    ledger = make_ledger([])
    release = record_demo_like(ledger, owner=new_owner())  # DEPLOY recorded by this process
    md = write_release_outputs(ledger, release, tmp_path).files["runbook_md"].read_text()
    assert "**Deployer**: release-bot (GITLAB_USER_LOGIN)  " in md.splitlines()


def test_deployer_of_another_process_says_who_fills_it_in(
    make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document written after the run cannot know the CI actor: it names the process and who fills it in."""
    monkeypatch.setenv("GITHUB_ACTOR", "someone-reading-later")
    ledger = make_ledger([])
    release = record_demo_like(ledger, owner=f"ci-runner-7:{os.getpid() + 1}:abcd1234")
    md = write_release_outputs(ledger, release, tmp_path).files["runbook_md"].read_text()
    line = next(line for line in md.splitlines() if line.startswith("**Deployer**"))
    assert "someone-reading-later" not in line
    assert f"DEPLOY ran as process {os.getpid() + 1} on ci-runner-7; the release manager fills this in" in line


def test_ci_actor_order() -> None:
    assert ci_actor({"USER": "me", "GITHUB_ACTOR": "octocat"}) == "octocat (GITHUB_ACTOR)"
    assert ci_actor({"USER": "me"}) == "me (USER)"
    assert ci_actor({}) is None


def test_team_notified_and_monitoring_rows_say_what_is_known(
    make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path
) -> None:
    """Guards against bare "not recorded" rows: the verification window fills what bmad watched, and each row
    says who fills in the rest."""
    ledger = make_ledger([])
    files = write_release_outputs(ledger, record_demo_like(ledger), tmp_path).files
    md = files["runbook_md"].read_text().splitlines()
    assert (
        "- Team notified: not recorded: bmad sends no notification; the release manager fills this in "
        "(who was told, when, where)" in md
    )
    assert (
        "- First 15 min: bmad verified 30 s (1 round(s), 10:02:07-10:02:37); the on-call fills in the rest "
        "from the dashboards and alerts" in md
    )
    assert any(line.startswith("- First 24 hours: bmad verified 30 s") for line in md)
    checklist = files["checklist_md"].read_text()
    assert "Team notified: not recorded: bmad sends no notification" in checklist


def test_rollback_plan_is_a_document(make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path) -> None:
    """Guards against a plan printed as key dumps ("## To" then a JSON block, "{'state': 'absent'}")."""
    ledger = make_ledger([])
    plan = write_release_outputs(ledger, record_demo_like(ledger), tmp_path).files["rollback_plan"].read_text()
    assert "```json" not in plan and "{" not in plan
    for line in (
        "**What is rolled back**: 2 container(s) of hello on the local engine  ",
        "**First deployment**: no  ",
        "**Expected time**: 12 s (median of 3 earlier deployment(s))  ",
        "## Returns to",
        "- Containers: hello-1, hello-2",
        "- Replicas: 2",
        "## Commands",
        "    bmad rollback --env dev",
        "## How to verify",
        "1. containers run the snapshot image",
        "## Rollback point (snapshot)",
    ):
        assert line in plan.splitlines(), line


def test_deployer_row_shows_who_the_ledger_recorded(
    make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards issue 15 item 4: the Deployer row said who should fill it in although the run knew who
    deployed; now the recorded actor, trigger and CI run show in the runbook and the HTML report, even
    when another process (a later ``bmad report``) writes them."""
    monkeypatch.setenv("GITHUB_ACTOR", "someone-reading-later")
    ledger = make_ledger([])
    recorded = Deployer(actor="octocat", run_url="https://github.com/acme/hello/actions/runs/42", trigger="push")
    release = record_demo_like(ledger, owner=f"ci-runner-7:{os.getpid() + 1}:abcd1234", deployer=recorded)
    files = write_release_outputs(ledger, release, tmp_path).files
    expected = "octocat (trigger: push; run: https://github.com/acme/hello/actions/runs/42)"
    assert f"**Deployer**: {expected}  " in files["runbook_md"].read_text().splitlines()
    assert f"<tr><td>Deployer</td><td>{expected}</td></tr>" in files["report_html"].read_text()
