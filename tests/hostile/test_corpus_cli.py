"""Bad command lines and big hostile files through the real ``bmad`` command: the documented exit
code, a one-line error naming the file (and line), no traceback, in bounded time and memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.core.errors import ExitCode
from tests.core.test_yaml_limits import alias_bomb
from tests.engine.support import bmad_argv, cli_env, make_service
from tests.hostile.corpus import run_bounded

CLI_BOUND_SECONDS = 20.0


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_service(tmp_path_factory.mktemp("cli") / "svc")


def _bmad(service: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    run = run_bounded(bmad_argv(*args), cwd=service, env=cli_env(env))
    assert run.seconds < CLI_BOUND_SECONDS, f"{args}: {run.seconds:.1f} s"
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run.code, run.stdout, run.stderr


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


ARGUMENTS: dict[str, tuple[tuple[str, ...], ExitCode, str]] = {
    "unknown command": (("deplo",), ExitCode.USAGE, "invalid choice: 'deplo'"),
    "unknown option": (("run", "--envirnment", "dev"), ExitCode.USAGE, "unrecognized arguments: --envirnment"),
    "unknown environment": (("run", "-e", "qa"), ExitCode.USAGE, "qa"),
    "force without reason": (("build", "-e", "dev", "--force"), ExitCode.USAGE, "--reason"),
    "missing config file": (("status", "-e", "dev", "--config", "nope.yaml"), ExitCode.USAGE, "nope.yaml"),
    "config is a directory": (("config", "check", "."), ExitCode.USAGE, "is a directory"),
    "verify with missing config": (("verify-ledger", "--config", "missing.yaml"), ExitCode.USAGE, "missing.yaml"),
    "history with missing config": (("history", "--config", "missing.yaml"), ExitCode.USAGE, "missing.yaml"),
}


@pytest.mark.parametrize("name", list(ARGUMENTS))
def test_bad_arguments_are_refused_with_the_documented_exit_code(service: Path, name: str) -> None:
    args, code, says = ARGUMENTS[name]
    returncode, stdout, stderr = _bmad(service, *args)
    assert returncode == code, stdout + stderr
    assert says in stdout + stderr


BIG_FILES: dict[str, tuple[str, str]] = {
    "alias bomb": (alias_bomb(), "alias bomb"),
    "deep flow nesting": ("service: " + "[" * 200_000 + "]" * 200_000 + "\n", "nests deeper than"),
    "deep block nesting": ("".join("  " * i + f"k{i}:\n" for i in range(1500)), "nests deeper than"),
    "oversized file": ("# padding\n" * 700_000, "the limit is"),
    "ten thousand keys": ("".join(f"k{i}: {i}\n" for i in range(10_000)), "unknown key"),
    "NUL byte": ("version: 1\x00\n", "not a text file"),
}


@pytest.mark.parametrize("name", list(BIG_FILES))
def test_big_hostile_configs_are_refused_in_bounded_time_and_memory(service: Path, name: str) -> None:
    text, says = BIG_FILES[name]
    path = _write(service.parent, f"{name.replace(' ', '-')}.yaml", text)
    returncode, stdout, stderr = _bmad(service, "config", "check", str(path))
    assert returncode == ExitCode.USAGE, stdout + stderr
    assert says in stderr and f"{path}" in stderr


def test_unset_secret_is_refused_with_file_and_line_before_any_phase(tmp_path: Path) -> None:
    service = make_service(tmp_path / "svc", extra="secrets:\n  db: {env: BMAD_TEST_UNSET_SECRET}\n")
    returncode, _, stderr = _bmad(service, "run", "-e", "dev")
    assert returncode == ExitCode.USAGE
    assert "bmad.yaml:" in stderr and "secrets.db" in stderr and not (service / ".bmad" / "runs").exists()


def test_a_boolean_option_refuses_maybe(service: Path) -> None:
    returncode, _, _ = _bmad(service, "run", "-e", "dev", "--set", "no_suppressions=maybe")
    assert returncode == ExitCode.USAGE


def test_a_bad_output_format_records_no_phase(tmp_path: Path) -> None:
    service = make_service(tmp_path / "svc")
    returncode, _, _ = _bmad(service, "analyze", "-e", "dev", "-f", "xml", "--force", "--reason", "corpus")
    assert returncode == ExitCode.USAGE and not (service / ".bmad" / "runs").exists()
