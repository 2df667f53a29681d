"""Who deployed (issue 15 item 4): the actor, the CI run's URL and the trigger recorded with each phase
run, hashed into the chain for new records while records written before keep verifying."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

import bmad.ledger
from bmad.core.ci import Deployer, current_deployer
from bmad.core.models import PhaseName, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.reader import stored_revision
from tests.ledger.test_ledger import T0, result

REL = Release("hello", "dev", "d" * 40)
WHO = Deployer(actor="octocat", run_url="https://github.com/acme/hello/actions/runs/7", trigger="push")
_NO_CI = {name: "" for name in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "GITHUB_RUN_ID", "CI_PIPELINE_URL")}


def test_the_ci_says_who_where_and_why() -> None:
    github = {
        "GITHUB_ACTOR": "octocat",
        "GITHUB_SERVER_URL": "https://github.com/",
        "GITHUB_REPOSITORY": "acme/hello",
        "GITHUB_RUN_ID": "7",
        "GITHUB_EVENT_NAME": "push",
        "USER": "runner",
    }
    assert current_deployer("dev@example.com", github) == WHO
    gitlab = {
        "GITLAB_USER_LOGIN": "tanuki",
        "CI_PIPELINE_URL": "https://gitlab.example.com/acme/hello/-/pipelines/9",
        "CI_PIPELINE_SOURCE": "schedule",
    }
    assert current_deployer(None, gitlab) == Deployer(
        "tanuki", "https://gitlab.example.com/acme/hello/-/pipelines/9", "schedule"
    )
    assert current_deployer("dev@example.com", {"USER": "me"}) == Deployer("dev@example.com", None, "manual")
    assert current_deployer(None, {"USER": "me", **_NO_CI}) == Deployer("me", None, "manual")
    assert WHO.describe() == "octocat (trigger: push; run: https://github.com/acme/hello/actions/runs/7)"


def test_the_deployer_is_kept_read_back_alike_and_hashed(tmp_path: Path) -> None:
    """Guards the record: the ORM and the sqlite3 reader return it alike, and editing it breaks the chain."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        ledger.record_phase(REL, result(PhaseName.BUILD, PhaseStatus.PASSED, T0, 1), deployer=WHO)
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        assert fast._reader is not None
        assert fast.list_releases() == orm.list_releases()
        (history,) = fast.list_releases()
        assert history.runs[0].deployer == WHO and history.deployer == WHO
        assert history.to_dict()["deployer"] == WHO.to_dict()
        assert orm.verify().ok
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute("UPDATE phase_runs SET actor = 'mallory'")
    with Ledger(create_engine(url)) as orm:
        assert orm.verify().problems == [
            "phase_runs id 1 (build attempt 1, chain #1): content does not match its hash (edited)"
        ]


def test_records_from_before_the_deployer_columns_still_verify(tmp_path: Path) -> None:
    """Guards the chain across migration 0002: records written under 0001 keep their hashes, new ones chain on."""
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    with Ledger.open(url) as ledger:
        ledger.record_phase(REL, result(PhaseName.BUILD, PhaseStatus.PASSED, T0, 1))
    config = Config()
    config.set_main_option("script_location", str(Path(bmad.ledger.__file__).parent / "migrations"))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    engine.dispose()
    assert stored_revision(path) == "0001"
    with Ledger.open(url) as ledger:  # migrates to 0002
        assert ledger.verify().ok
        ledger.record_phase(REL, result(PhaseName.MEASURE, PhaseStatus.PASSED, T0, 2), deployer=WHO)
        report = ledger.verify()
        assert report.ok and report.checked == 2
        history = ledger.get_release(REL.service, REL.environment, REL.version)
        assert history is not None
        assert [run.deployer for run in history.runs] == [Deployer(), WHO]
