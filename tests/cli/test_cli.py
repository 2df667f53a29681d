"""The real ``bmad`` command in a subprocess: bad input, exit codes, JSON, Ctrl-C, SIGKILL, locks."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.support import bmad, cli_env, git, make_service, spawn
from tests.helpers import wait_for

GOOD = "version: 1\nservice:\n  name: hello\nenvironments:\n  dev: {}\n"


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return make_service(tmp_path / "svc")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("service:\n  name: hello\n  owner: [unclosed\n", r"bmad.yaml:4:1: invalid YAML"),
        (
            GOOD + "enviroment: {}\n",
            r"bmad.yaml:6:1: enviroment: unknown key 'enviroment'; did you mean 'environments'\?",
        ),
        (
            GOOD.replace("dev: {}", "dev:\n    risk: 3"),
            r"bmad.yaml:6:11: environments.dev.risk: input should be 'low', 'medium' or 'high'",
        ),
        (
            GOOD + "ledger:\n  lock_lease_seconds: soon\n",
            r"bmad.yaml:7:23: ledger.lock_lease_seconds: .*found a string",
        ),
        ("", r"bmad.yaml:1:1: the file is empty"),
        (b"version: 1\n\x00\x01\x02binary", r"bmad.yaml:2: not a text file"),
        (None, r"bmad.yaml: config file not found"),
    ],
    ids=["malformed", "unknown-key", "wrong-type-literal", "wrong-type-number", "empty", "binary", "missing"],
)
def test_bad_config_is_one_clear_line_and_exit_2(tmp_path: Path, content: str | bytes | None, expected: str) -> None:
    path = tmp_path / "bmad.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    commands = [["config", "check", str(path)]]
    if content is None or isinstance(content, bytes):  # every command loads the file the same way
        commands.append(["run", "-c", str(path), "-e", "dev"])
    for args in commands:
        proc = bmad(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        first = proc.stderr.splitlines()[0]
        assert first.startswith("error: ") and str(path) in first
        assert re.search(expected, first), first


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "bmad.yaml").write_text(GOOD)
    proc = bmad("config", "check", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["environments"]["dev"]["warnings_fail"] is False


def test_init_writes_a_starter_from_what_it_finds(tmp_path: Path) -> None:
    (tmp_path / "Containerfile").write_text("FROM scratch\n")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "tests").mkdir()
    proc = bmad("init", "--service", "shop", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "found containerfile: Containerfile" in proc.stdout and "found manifests: k8s/" in proc.stdout
    text = (tmp_path / "bmad.yaml").read_text()
    assert "name: shop" in text and "containerfile: Containerfile" in text and text.startswith("# bmad.yaml")
    assert bmad("config", "check", cwd=tmp_path).returncode == 0
    again = bmad("init", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert bmad("init", "--force", cwd=tmp_path).returncode == 0


def test_run_status_history_verify_as_json(service: Path) -> None:
    run = bmad("run", "-e", "dev", "--json", cwd=service)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["passed"] and [p["status"] for p in doc["phases"]] == ["passed"] * 4
    status = json.loads(bmad("status", "-e", "dev", "--json", cwd=service).stdout)
    assert status["phases"] == {"build": "passed", "measure": "passed", "analyze": "passed", "deploy": "passed"}
    history = json.loads(bmad("history", "-e", "dev", "--json", cwd=service).stdout)
    assert len(history["releases"]) == 1 and len(history["releases"][0]["runs"]) == 4
    verify = bmad("verify-ledger", "--json", cwd=service)
    assert verify.returncode == 0 and json.loads(verify.stdout)["checked"] == 4
    human = bmad("status", "-e", "dev", cwd=service)
    assert "every phase passed" in human.stdout
    # the records went to their branch; the service's tree is untouched
    assert git(service, "status", "--porcelain", "--untracked-files=all") == ""
    assert len(git(service, "ls-tree", "-r", "--name-only", "bmad/records").split()) == 4


def test_status_and_history_show_earlier_attempts_as_outlines(service: Path) -> None:
    """Guards the read commands' cost on a retried phase (session 10: fifty ANALYZE attempts of a
    thousand objects made ``status --json`` take 16 s and 2 GB): the earlier attempt is listed with
    its status, times and message, marked ``outline`` and without its checks, metrics and artifacts;
    the latest attempt is whole; the tables and the report read the latest attempts only."""
    failed = bmad("build", "-e", "dev", "--set", "x_build_status=fail", cwd=service)
    assert failed.returncode == 1, failed.stderr
    assert bmad("build", "-e", "dev", cwd=service).returncode == 0
    status = json.loads(bmad("status", "-e", "dev", "--json", cwd=service).stdout)
    history = json.loads(bmad("history", "-e", "dev", "--json", cwd=service).stdout)
    for runs in (status["history"]["runs"], history["releases"][0]["runs"]):
        first, second = runs
        assert (first["attempt"], first["status"], first["outline"]) == (1, "failed", True)
        assert not {"checks", "metrics", "artifacts"} & set(first) and first["finished_at"] and first["hash"]
        assert second["attempt"] == 2 and "outline" not in second and second["checks"][0]["status"] == "pass"
    assert status["phases"]["build"] == "passed" and status["next_phase"] == "measure"
    assert "BUILD    passed  attempt 2" in bmad("status", "-e", "dev", cwd=service).stdout
    table = bmad("history", "-e", "dev", cwd=service).stdout.splitlines()
    assert table[1].split()[4:6] == ["passed", "pending"]
    for release in ([], [f"#{status['history']['id']}"], [status["release"]["version"][:8]]):
        report = bmad("report", "-e", "dev", "--json", *release, cwd=service)
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout)["outcome"] == "incomplete"


def test_gate_refusal_and_unknown_environment(service: Path) -> None:
    refused = bmad("deploy", "-e", "dev", cwd=service)
    assert refused.returncode == 1
    assert "DEPLOY needs BUILD to pass first" in refused.stderr and "--force" in refused.stderr
    unknown = bmad("run", "-e", "qa", cwd=service)
    assert unknown.returncode == 2 and "environment 'qa' is not defined" in unknown.stderr
    ambiguous = bmad("run", cwd=service)
    assert ambiguous.returncode == 2 and "--env" in ambiguous.stderr


def test_human_output_shows_what_expected_observed_fix(service: Path) -> None:
    proc = bmad("build", "-e", "production", "--set", "x_build_status=warn", cwd=service)
    assert proc.returncode == 1
    assert "warn (counts as fail)" in proc.stdout
    assert "expected: a scripted outcome" in proc.stdout and "fix: change the scripted option" in proc.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_aborts_the_phase_and_resume_continues(service: Path, tmp_path: Path, signum: int) -> None:
    marker = tmp_path / "started"
    proc = spawn("run", "-e", "dev", "--set", "x_measure_sleep=30", "--set", f"x_measure_marker={marker}", cwd=service)
    wait_for(marker.exists, timeout=20, what="MEASURE started")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1, err
    assert "Traceback" not in out + err
    assert "MEASURE aborted" in out
    if signum == signal.SIGTERM:
        return
    status = json.loads(bmad("status", "-e", "dev", "--json", cwd=service).stdout)
    assert status["phases"]["measure"] == "aborted" and status["next_phase"] == "measure"
    resume = bmad("resume", "-e", "dev", "--json", cwd=service)
    assert resume.returncode == 0, resume.stderr
    assert [p["phase"] for p in json.loads(resume.stdout)["phases"]] == ["measure", "analyze", "deploy"]
    assert bmad("verify-ledger", cwd=service).returncode == 0


def test_sigkill_mid_phase_is_interrupted_then_resumed(service: Path, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    proc = spawn("run", "-e", "dev", "--set", "x_analyze_sleep=30", "--set", f"x_analyze_marker={marker}", cwd=service)
    wait_for(marker.exists, timeout=20, what="ANALYZE started")
    proc.kill()
    proc.communicate(timeout=10)  # reaped: no zombie left
    status = bmad("status", "-e", "dev", cwd=service)
    assert status.returncode == 0, status.stderr
    assert "ANALYZE  interrupted" in status.stdout
    assert "stopped while the phase was running" in status.stdout
    resume = bmad("resume", "-e", "dev", "--json", cwd=service)
    assert resume.returncode == 0, resume.stderr
    doc = json.loads(resume.stdout)
    assert [p["phase"] for p in doc["phases"]] == ["analyze", "deploy"] and doc["phases"][0]["attempt"] == 2
    verify = bmad("verify-ledger", cwd=service)
    assert verify.returncode == 0 and "hash chain intact" in verify.stdout


def test_tampering_is_reported_by_verify_ledger(service: Path) -> None:
    assert bmad("run", "-e", "dev", cwd=service).returncode == 0
    with sqlite3.connect(service / ".bmad" / "ledger.db") as db:
        db.execute("UPDATE phase_runs SET status = 'passed', message = 'all good' WHERE phase = 'deploy'")
        db.execute("UPDATE phase_runs SET finished_at = '2020-01-01 00:00:00' WHERE phase = 'build'")
    proc = bmad("verify-ledger", cwd=service)
    assert proc.returncode == 1
    assert "(deploy attempt 1, chain #4): content does not match its hash (edited)" in proc.stdout
    assert "(build attempt 1, chain #1): content does not match its hash (edited)" in proc.stdout
    assert "measure" not in proc.stdout


def test_a_second_run_is_refused_or_queues_with_wait(service: Path, tmp_path: Path) -> None:
    marker, go = tmp_path / "started", tmp_path / "go"
    first = spawn(
        "run", "-e", "dev", "--set", f"x_build_marker={marker}", "--set", f"x_build_wait_for={go}", cwd=service
    )
    wait_for(marker.exists, timeout=30, what="first run started")
    second = bmad("run", "-e", "dev", cwd=service)
    assert second.returncode == 1
    assert "hello/dev is locked by another bmad run" in second.stderr and "--wait" in second.stderr
    other_env = bmad("build", "-e", "staging", cwd=service)  # another environment is not blocked
    assert other_env.returncode == 0, other_env.stderr
    waiter = spawn("build", "-e", "dev", "--wait", cwd=service)
    wait_for(lambda: "waiting: dev is locked" in _read_some(waiter), timeout=30, what="waiter queued")
    go.write_text("go")
    first.communicate(timeout=60)
    assert first.returncode == 0
    waiter.communicate(timeout=60)
    assert waiter.returncode == 0
    runs = json.loads(bmad("history", "-e", "dev", "--json", cwd=service).stdout)["releases"][0]["runs"]
    builds = sorted((r["started_at"], r["finished_at"]) for r in runs if r["phase"] == "build")
    assert len(builds) == 2 and builds[1][0] >= builds[0][1]  # the waiter started after the first finished


_seen: dict[int, str] = {}


def _read_some(proc: subprocess.Popen[str]) -> str:
    """What the process wrote to stderr so far (non-blocking)."""
    import os as _os

    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    _os.set_blocking(fd, False)
    try:
        chunk = _os.read(fd, 65536).decode(errors="replace")
    except BlockingIOError:
        chunk = ""
    finally:
        _os.set_blocking(fd, True)
    _seen[proc.pid] = _seen.get(proc.pid, "") + chunk
    return _seen[proc.pid]


def test_internal_error_goes_to_a_log_not_the_screen(service: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    proc = bmad("build", "-e", "dev", "--set", "x_build_make_raise=1", cwd=service, env={"BMAD_LOG_DIR": str(logs)})
    assert proc.returncode == 4
    assert "Traceback" not in proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: internal error, details in ")
    log = Path(line.rsplit(" ", 1)[-1])
    assert log.parent == logs and "RuntimeError: scripted bug while building the phase" in log.read_text()
    # the phase was still recorded as failed, and the ledger is intact
    status = json.loads(bmad("status", "-e", "dev", "--json", cwd=service).stdout)
    assert status["phases"]["build"] == "failed"
    assert bmad("verify-ledger", cwd=service).returncode == 0


_LOADED = (
    "import sys; from bmad.cli.main import main; code = main(sys.argv[1:]); "
    "print(*sorted(sys.modules), file=sys.stderr)"
)


def _help_imports(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``bmad <args> --help`` in a fresh interpreter: the result and every module loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED, *args, "--help"], env=cli_env(), capture_output=True, text=True, check=False
    )
    return proc, set(proc.stderr.split())


def test_help_does_not_import_heavy_modules() -> None:
    heavy = ("docker", "kubernetes", "sqlalchemy", "jinja2", "requests", "alembic", "aiohttp", "pydantic", "yaml")
    proc, imported = _help_imports()
    assert proc.returncode == 0 and "verify-ledger" in proc.stdout
    roots = {name.split(".")[0] for name in imported}
    assert not roots & set(heavy), roots & set(heavy)
    # no help cache any more, and neither Typer/Click nor Rich on the help path
    assert not roots & {"typer", "click", "rich"}
    assert not {name for name in imported if name.startswith("bmad.cli.")} - {"bmad.cli.main", "bmad.cli.options"}


@pytest.mark.parametrize(
    ("command", "module"),
    [("analyze", "release_run"), ("history", "release_records"), ("stack", "stack"), ("metrics", "reports")],
)
def test_command_help_imports_only_its_module(command: str, module: str) -> None:
    """Guards issue 13's help goal: ``bmad X --help`` loads the module of X and nothing heavy."""
    proc, imported = _help_imports(command)
    assert proc.returncode == 0 and f"usage: bmad {command}" in proc.stdout
    cli_modules = {name for name in imported if name.startswith("bmad.cli.")}
    assert cli_modules == {"bmad.cli.main", "bmad.cli.options", f"bmad.cli.{module}"}
    assert not {name.split(".")[0] for name in imported} & {"typer", "click", "rich", "yaml", "pydantic"}


def test_simultaneous_runs_exactly_one_proceeds(service: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"  # the winner's check waits for this file: the losers are done long before
    procs = [spawn("build", "-e", "dev", "--set", f"x_build_wait_for={go}", cwd=service) for _ in range(3)]
    losers = wait_for(
        lambda: [p for p in procs if p.poll() is not None] if sum(p.poll() is not None for p in procs) >= 2 else [],
        timeout=60,
        what="two runs exit",
    )
    for proc in losers:
        assert proc.returncode == 1
        assert "hello/dev is locked by another bmad run" in proc.communicate()[1]
    go.write_text("go")
    (winner,) = [p for p in procs if p not in losers]
    winner.communicate(timeout=60)
    assert winner.returncode == 0
    history = json.loads(bmad("history", "-e", "dev", "--json", cwd=service).stdout)["releases"]
    assert [r["phase"] for r in history[0]["runs"]] == ["build"]
