"""A secret referenced in bmad.yaml never reaches a file bmad writes, the records branch, the
Pushgateway or the terminal; and everything under the state folder is owner-only (issue 19)."""

from __future__ import annotations

import os
import stat
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bmad.core.redact import forget_secrets
from tests.engine.support import bmad, git, make_service

PLANTED = "planted-Value-7c1e9a3f55"


def _service(tmp_path: Path, monitoring: str = "") -> Path:
    extra = "secrets:\n  planted: {env: PLANTED_TOKEN}\n"
    service = make_service(tmp_path / "svc", extra=extra)
    if monitoring:
        text = (service / "bmad.yaml").read_text(encoding="utf-8")
        text = text.replace("  dev:\n    risk: low\n", f"  dev:\n    risk: low\n    monitoring:\n{monitoring}")
        (service / "bmad.yaml").write_text(text, encoding="utf-8")
        git(service, "commit", "-qam", "monitoring")
    return service


def _files_with(root: Path, value: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and value in p.read_bytes()]


def test_a_secret_a_suite_prints_is_masked_everywhere(tmp_path: Path, stack: Any) -> None:
    """Guards: top-level ``secrets:`` were never resolved, so what a suite printed reached JUnit
    files, command evidence and reports unmasked."""
    service = _service(tmp_path, f"      pushgateway_url: {stack.pushgateway_url}\n")
    proc = bmad(
        "run",
        "-e",
        "dev",
        "--set",
        "x_build_print_env=PLANTED_TOKEN",
        "--set",
        "x_deploy_print_env=PLANTED_TOKEN",
        cwd=service,
        env={"PLANTED_TOKEN": PLANTED},
    )
    assert proc.returncode == 0, proc.stderr
    assert PLANTED not in proc.stdout + proc.stderr
    assert _files_with(service / ".bmad", PLANTED.encode()) == []
    junit = list((service / ".bmad").rglob("*junit*.xml"))
    assert any("reports" in str(p) for p in junit) and any("/runs/" in str(p) for p in junit)
    assert all(b"********" in p.read_bytes() for p in junit)
    records = git(service, "log", "-p", "bmad/records")
    assert records and PLANTED not in records
    assert _files_with(service / ".git", PLANTED.encode()) == []
    with urllib.request.urlopen(f"{stack.pushgateway_url}/metrics", timeout=10) as response:
        assert PLANTED.encode() not in response.read()
    verify = bmad("verify-ledger", cwd=service, env={"PLANTED_TOKEN": PLANTED})
    status = bmad("status", "-e", "dev", cwd=service, env={"PLANTED_TOKEN": PLANTED})
    assert PLANTED not in verify.stdout + verify.stderr + status.stdout + status.stderr


def test_an_unset_secret_reference_stops_the_run_before_any_phase(tmp_path: Path) -> None:
    """Guards: an unresolvable reference failed only when (and if) a phase resolved it."""
    service = _service(tmp_path)
    proc = bmad("run", "-e", "dev", cwd=service, env={})
    assert proc.returncode == 2, proc.stderr
    assert "bmad.yaml:" in proc.stderr and "secrets.planted" in proc.stderr and "PLANTED_TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((service / ".bmad").rglob("runs/*"))


def test_everything_under_the_state_folder_is_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards: ledger.db, bmad.log, reports and JUnit files were world-readable."""
    service = _service(tmp_path)
    proc = bmad(
        "run",
        "-e",
        "dev",
        "--set",
        "x_build_print_env=PLANTED_TOKEN",
        cwd=service,
        env={"PLANTED_TOKEN": PLANTED, "BMAD_LOG_DIR": str(service / ".bmad" / "logs")},
    )
    assert proc.returncode == 0, proc.stderr
    state = service / ".bmad"
    assert (state / "ledger.db").is_file() and list(state.rglob("*junit*.xml"))
    wrong = [
        f"{p}: {oct(stat.S_IMODE(p.stat().st_mode))}"
        for p in [state, *state.rglob("*")]
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    ]
    assert wrong == []
    forget_secrets()


def test_programs_bmad_starts_keep_the_users_umask(tmp_path: Path) -> None:
    """The owner-only umask is bmad's own: a test suite or git run meanwhile creates files as usual."""
    from bmad.core.files import owner_only
    from bmad.core.process import run

    previous = os.umask(0o022)
    try:
        with owner_only():
            run(["sh", "-c", f"touch {tmp_path / 'by-a-child'}"], system="sh")
            (tmp_path / "by-bmad").touch()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "by-a-child").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "by-bmad").stat().st_mode) == 0o600
