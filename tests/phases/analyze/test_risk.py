"""Risk assessment: the decision matrix, and change types inferred from real git histories."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bmad.adapters.git_history import GitHistory
from bmad.config.analyze import RiskConfig
from bmad.phases.analyze.attestations import Attestation, Attestations
from bmad.phases.analyze.risk import DECISION_MATRIX, assess, infer_change_types

RULES = RiskConfig()
TODAY = date(2026, 11, 26)


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for rel, content in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True, capture_output=True)
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def service_repo(git_repo: Callable[..., Path]) -> tuple[Path, str]:
    repo = git_repo(
        files={
            "app/main.py": "print('hello')\n",
            "app/config.yaml": "log_level: info\nworkers: 2\n",
            "requirements.txt": "flask==3.0.0\n",
            "k8s/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
            "README.md": "# svc\n",
        }
    )
    base = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return repo, base


def infer(repo: Path, base: str | None, *, production: bool = True) -> tuple[list[str], list[str]]:
    history = GitHistory(repo)
    head = history.head()
    changed = history.changed_files(base, head)
    return infer_change_types(
        changed,
        RULES,
        production=production,
        first_release=base is None,
        diff_text=lambda paths: history.diff_text(base, head, paths),
    )


@pytest.mark.parametrize(
    ("files", "expected_type", "level"),
    [
        ({"migrations/0002_add_orders.sql": "ALTER TABLE orders ADD COLUMN total int;\n"}, "schema_migration", "high"),
        ({"app/auth/jwt.py": "ALGORITHM = 'RS256'\n"}, "security_patch", "high"),
        ({"requirements.txt": "flask==3.0.3\n"}, "dependency_update", "medium"),
        (
            {"k8s/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 4}\n"},
            "infrastructure",
            "high",
        ),
        ({"app/config.yaml": "log_level: debug\nworkers: 4\n"}, "config_tuning", "low"),
        ({"app/main.py": "print('hello, world')\n"}, "production_api", "high"),
    ],
)
def test_change_type_inferred_from_git_history(
    service_repo: tuple[Path, str], files: dict[str, str], expected_type: str, level: str
) -> None:
    repo, base = service_repo
    commit(repo, files)
    types, reasons = infer(repo, base)
    assert types == [expected_type]
    assert any(next(iter(files)) in r for r in reasons)
    result = assess(types, reasons, environment="production", environment_risk="low")
    assert result.level == level
    assert result.bmad_required == DECISION_MATRIX[expected_type].required


def test_config_change_touching_security_settings_is_a_security_change(service_repo: tuple[Path, str]) -> None:
    repo, base = service_repo
    commit(repo, {"app/config.yaml": "log_level: info\nworkers: 2\ntls_min_version: '1.3'\n"})
    types, reasons = infer(repo, base)
    assert types == ["security_patch"]
    assert any("security settings (tls" in r for r in reasons)


def test_mixed_change_takes_the_highest_risk_and_lists_every_reason(service_repo: tuple[Path, str]) -> None:
    repo, base = service_repo
    commit(repo, {"requirements.txt": "flask==3.0.3\n", "docs/notes.md": "x\n"})
    commit(repo, {"alembic/versions/abc_add.py": "def upgrade(): pass\n"})
    types, reasons = infer(repo, base)
    assert types == ["schema_migration", "dependency_update"]
    result = assess(types, reasons, environment="production", environment_risk="low")
    assert result.level == "high"
    ids = {m.id for m in result.mitigations}
    assert {"backup", "migration-reversible", "rollback-plan", "tests", "scan-clean"} <= ids


def test_first_release_and_redeploy(service_repo: tuple[Path, str]) -> None:
    repo, base = service_repo
    types, reasons = infer(repo, None)
    assert "production_api" in types
    assert any("no earlier deployed release" in r for r in reasons)
    types, reasons = infer(repo, base)  # nothing changed since the deployed release
    assert types == ["config_tuning"]
    assert "redeploy" in reasons[0]


def test_non_production_environment_is_a_development_deployment(service_repo: tuple[Path, str]) -> None:
    repo, base = service_repo
    commit(repo, {"migrations/0002.sql": "select 1;\n"})
    types, reasons = infer(repo, base, production=False)
    assert types == ["development"]
    result = assess(types, reasons, environment="staging", environment_risk="low")
    assert (result.level, result.bmad_required) == ("low", "no")
    assert result.complete


def test_renames_are_seen(service_repo: tuple[Path, str]) -> None:
    repo, base = service_repo
    subprocess.run(["git", "-C", str(repo), "mv", "app/main.py", "app/server.py"], check=True)
    commit(repo, {})
    changed = GitHistory(repo).changed_files(base, GitHistory(repo).head())
    assert [(c.path, c.status, c.old_path) for c in changed] == [("app/server.py", "R", "app/main.py")]


def test_high_risk_needs_mitigations_in_place() -> None:
    facts = {"rollback_plan_documented": True, "baseline_captured": True, "alerts_loaded": True, "tests_passed": False}
    result = assess(["production_api"], [], environment="production", facts=facts)
    assert not result.complete
    assert [m.id for m in result.missing_mitigations] == ["tests"]
    facts["tests_passed"] = True
    assert assess(["production_api"], [], environment="production", facts=facts).complete
    # attestation-backed mitigations, with expiry
    attestations = Attestations(
        [Attestation("RISK-SECURITY-REVIEW", "alice", date(2026, 11, 1), "", date(2026, 11, 20))]
    )
    result = assess(
        ["security_patch"],
        [],
        environment="production",
        facts={"rollback_plan_documented": True, "scan_clean": True},
        attestations=attestations,
        today=TODAY,
    )
    missing = result.missing_mitigations
    assert [m.id for m in missing] == ["security-review"] and "expired" in missing[0].how


def test_environment_risk_is_a_floor() -> None:
    result = assess(
        ["config_tuning"], ["configuration-only change"], environment="production", environment_risk="medium"
    )
    assert result.level == "medium"
    assert any("risk floor" in r for r in result.reasons)
    with pytest.raises(ValueError, match="unknown change type"):
        assess(["yolo"], [], environment="production")


def test_bmad_assess_cli(service_repo: tuple[Path, str]) -> None:
    import json

    from tests.cli.invoke import invoke

    repo, base = service_repo
    commit(repo, {"migrations/0002.sql": "alter table x add y int;\n"})
    (repo / "bmad.yaml").write_text(
        "service: {name: svc}\nenvironments:\n  production: {production: true, risk: low}\n", encoding="utf-8"
    )
    result = invoke(["assess", "-c", str(repo / "bmad.yaml"), "--since", base, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["level"] == "HIGH"
    assert [t["type"] for t in data["change_types"]] == ["schema_migration"]
    assert data["mitigations_required"] is True
    assert {m["id"] for m in data["mitigations"]} >= {"backup", "migration-reversible"}
    text = invoke(["assess", "-c", str(repo / "bmad.yaml"), "-t", "config_tuning"])
    assert text.exit_code == 0
    assert "Risk: LOW" in text.output
    bad = invoke(["assess", "-c", str(repo / "bmad.yaml"), "-t", "yolo"])
    assert bad.exit_code == 2
