"""The records branch writer on real git: concurrent writers, no identity, the working tree untouched."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bmad.adapters import git as gitadapter
from bmad.core.errors import AdapterError, UsageError
from tests.engine.support import git, make_service


def test_concurrent_writers_both_land_on_the_branch(tmp_path: Path) -> None:
    repo = make_service(tmp_path / "svc")
    (repo / "app.py").write_text("print('work in progress')\n")  # a dirty tree stays exactly as it is
    barrier = threading.Barrier(4)
    commits: list[str] = []

    def write(index: int) -> None:
        barrier.wait()
        commits.append(gitadapter.commit_files(repo, "bmad/records", {f"records/e{index}.yaml": f"n: {index}\n"}, "m"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(commits) == 4
    files = git(repo, "ls-tree", "-r", "--name-only", "bmad/records").split()
    assert files == [f"records/e{i}.yaml" for i in range(4)]
    assert git(repo, "status", "--porcelain") == " M app.py\n"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert gitadapter.read_file(repo, "bmad/records", "records/e2.yaml") == "n: 2\n"


def test_a_record_commit_works_without_a_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_service(tmp_path / "svc")
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    gitadapter.commit_files(repo, "bmad/records", {"records/x.yaml": "x: 1\n"}, "m")
    assert git(repo, "log", "-1", "--format=%an <%ae>", "bmad/records").strip() == "bmad <bmad@localhost.invalid>"


def test_release_facts_and_not_a_repository(tmp_path: Path) -> None:
    repo = make_service(tmp_path / "svc")
    assert gitadapter.head_commit(repo) == git(repo, "rev-parse", "HEAD").strip()
    (repo / "new.txt").write_text("x")
    (repo / ".bmad").mkdir()
    (repo / ".bmad" / "ledger.db").write_text("x")
    facts = gitadapter.release_facts(repo, branch="bmad/records", exclude=[".bmad"], email=True)
    assert facts.changed == ["new.txt"] and facts.head.commit == gitadapter.head_commit(repo)
    assert facts.user_email is None  # the test's git config has none (GIT_CONFIG_GLOBAL is /dev/null)
    shown = git(repo, "show", "-s", "--format=%ct", "HEAD").strip()
    assert int(facts.commit_time.timestamp()) == int(shown)
    with pytest.raises(UsageError, match="not inside a git repository"):
        gitadapter.repo_root(tmp_path / "nowhere")


def test_one_rev_parse_reads_the_top_folder_head_and_the_records_branch(tmp_path: Path) -> None:
    """Guards issue 13: the records branch's commit comes with HEAD (one git call less per phase)."""
    repo = make_service(tmp_path / "svc")
    sub = repo / "app"
    sub.mkdir(exist_ok=True)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert gitadapter.head(sub, branch="bmad/records") == gitadapter.Head(repo, head, None)
    first = gitadapter.commit_files(repo, "bmad/records", {"records/a.yaml": "a: 1\n"}, "m")
    assert gitadapter.head(sub, branch="bmad/records") == gitadapter.Head(repo, head, first)
    assert gitadapter.head(sub) == gitadapter.Head(repo, head, None)
    (tmp_path / "new").mkdir()
    git(tmp_path / "new", "init", "-q", "-b", "main")
    with pytest.raises(UsageError, match="no commit yet"):
        gitadapter.head(tmp_path / "new", branch="bmad/records")
    with pytest.raises(UsageError, match="not inside a git repository"):
        gitadapter.head(tmp_path / "nowhere", branch="bmad/records")


def test_a_stale_parent_of_the_records_branch_costs_a_retry_not_a_record(tmp_path: Path) -> None:
    """Guards the hint: a commit made since the branch was read is kept (compare-and-swap, retried)."""
    repo = make_service(tmp_path / "svc")
    stale = gitadapter.commit_files(repo, "bmad/records", {"records/a.yaml": "a: 1\n"}, "m")
    since = gitadapter.commit_files(repo, "bmad/records", {"records/b.yaml": "b: 1\n"}, "m", parent=stale)
    latest = gitadapter.commit_files(repo, "bmad/records", {"records/c.yaml": "c: 1\n"}, "m", parent=stale)
    assert git(repo, "rev-parse", f"{latest}^").strip() == since
    files = git(repo, "ls-tree", "-r", "--name-only", "bmad/records").split()
    assert files == ["records/a.yaml", "records/b.yaml", "records/c.yaml"]


def test_paths_and_texts_land_byte_for_byte(tmp_path: Path) -> None:
    """fast-import counts bytes and reads C-quoted paths: a multi-byte text, a space, a quote and a
    backslash in a path must not shift or cut the stream."""
    repo = make_service(tmp_path / "svc")
    files = {'records/a b/"q"\\x.yaml': "é: ü\n" * 3, "records/ü/€.yaml": "no newline at the end"}
    commit = gitadapter.commit_files(repo, "bmad/records", files, "message with é\nand a second line")
    listed = git(repo, "ls-tree", "-r", "-z", "--name-only", commit).split("\0")
    assert sorted(filter(None, listed)) == sorted(files)
    for path, text in files.items():
        assert gitadapter.read_file(repo, commit, path) == text
    assert git(repo, "log", "-1", "--format=%B", commit).rstrip("\n") == "message with é\nand a second line"


def test_the_record_commit_is_gits_committer_at_its_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity and date a commit would have: GIT_COMMITTER_NAME/EMAIL, and GIT_COMMITTER_DATE
    in any format git reads (git is asked each time then)."""
    repo = make_service(tmp_path / "svc")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Rec Order")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "rec@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-02T03:04:05+01:00")
    first = gitadapter.commit_files(repo, "bmad/records", {"records/a.yaml": "a: 1\n"}, "m")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-02-03T04:05:06+00:00")
    second = gitadapter.commit_files(repo, "bmad/records", {"records/b.yaml": "b: 1\n"}, "m")
    assert git(repo, "log", "-1", "--format=%cn <%ce>|%an <%ae>|%cI", first).strip() == (
        "Rec Order <rec@example.invalid>|Rec Order <rec@example.invalid>|2026-01-02T03:04:05+01:00"
    )
    assert git(repo, "log", "-1", "--format=%cI", second).strip() == "2026-02-03T04:05:06+00:00"
    assert git(repo, "rev-parse", f"{second}^").strip() == first


def test_a_failing_import_is_an_error_not_a_retry(tmp_path: Path) -> None:
    """An import git refuses while the branch stays where it was (here a name git rejects, which the
    config refuses before it gets this far) is reported with git's reason, not retried as a race."""
    repo = make_service(tmp_path / "svc")
    with pytest.raises(AdapterError, match="doesn't conform"):
        gitadapter.commit_files(repo, "bad..name", {"records/a.yaml": "a: 1\n"}, "m")


def test_records_of_a_run_chain_and_a_failed_one_is_reported_after_the_documents(tmp_path: Path) -> None:
    """Guards the record commit that runs beside the next phase and the documents: each phase's record
    is the parent of the next one's, every outcome carries its commit when the run returns, and a
    commit git refuses (the branch's ref is locked by another git) is the phase's ``record_error``
    (and a warning), not a lost error or a hang."""
    from bmad.engine import run_release

    repo = make_service(tmp_path / "svc")
    outcome = run_release(repo / "bmad.yaml", "dev", phases=["build", "measure", "analyze"])
    commits = [phase.record_commit for phase in outcome.phases]
    assert all(commits) and len(set(commits)) == 3
    assert git(repo, "rev-parse", "bmad/records").strip() == commits[-1]
    assert [git(repo, "rev-parse", f"{c}^").strip() for c in commits[1:]] == commits[:2]
    assert git(repo, "show", f"{commits[1]}:{outcome.phases[1].record_path}").startswith("# bmad phase record")

    lock = repo / ".git" / "refs" / "heads" / "bmad" / "records.lock"
    lock.write_text("")
    try:
        refused = run_release(repo / "bmad.yaml", "dev", phases=["deploy"])
    finally:
        lock.unlink()
    phase = refused.phases[0]
    assert phase.record_commit is None and phase.record_error and "records" in phase.record_error
    assert git(repo, "rev-parse", "bmad/records").strip() == commits[-1]
    assert not list((repo / ".git").glob("fast_import_crash_*"))  # no crash report left in the user's .git
