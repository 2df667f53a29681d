"""Wording of errors that named no place or a wrong one (issue 19), each re-checked here:
a manifest finding printed ``file:None:``, a missing secret named ``<input>``, an environment
name pointed at 1:1 (that case lives in test_corpus_config.py with its line marked)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bmad.core.errors import ConfigError, ExitCode
from tests.engine.support import bmad, make_service
from tests.phases.analyze.test_phase import FakeTarget, make_ctx, make_phase, make_project, run


def test_a_manifest_finding_without_a_line_names_the_file_only(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    """Guards: an oversized manifest (refused unread, so no line applies) was printed as
    ``k8s/big.yaml:None: ...``."""
    repo = make_project(tmp_path, git_repo)
    (repo / "k8s" / "big.yaml").write_text("# padding\n" * 1_100_000, encoding="utf-8")  # over 10 MB
    outcome = run(make_phase(repo, FakeTarget(secrets={"app-secrets": {"db-password"}})), make_ctx(repo))
    observed = outcome.results["analyze.manifests"].observed
    line = next(text for text in observed.splitlines() if "big.yaml" in text)
    assert line.startswith("k8s/big.yaml: file is ") and "analyze.max_file_mb" in line, line
    assert "None" not in observed, observed


def test_a_missing_secret_names_the_config_file_and_line(tmp_path: Path) -> None:
    """Guards: an unset ledger.signing_key reference was reported as ``<input>: secret reference ...``."""
    extra = "  signing_key: {env: BMAD_TEST_UNSET_LEDGER_KEY}\n"
    repo = make_service(tmp_path / "svc")
    text = (repo / "bmad.yaml").read_text(encoding="utf-8").replace("ledger:\n", "ledger:\n" + extra)
    (repo / "bmad.yaml").write_text(text, encoding="utf-8")
    line = text.splitlines().index(extra.rstrip("\n")) + 1
    answer = bmad("verify-ledger", cwd=repo)  # BMAD_TEST_UNSET_LEDGER_KEY is not set
    assert answer.returncode == ExitCode.USAGE, answer.stdout + answer.stderr
    assert f"bmad.yaml:{line}:" in answer.stderr and "ledger.signing_key" in answer.stderr, answer.stderr
    assert "<input>" not in answer.stderr and "Traceback" not in answer.stderr


def test_a_config_error_without_a_file_names_no_placeholder() -> None:
    """Guards: an error with no file to name printed ``<input>:`` as if it were one."""
    error = ConfigError("secret reference env:X is not set", field="ledger.signing_key")
    assert error.message == "ledger.signing_key: secret reference env:X is not set"
