"""The options every command shares: the choice of environment and the error guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmad.cli.options import guard, pick_env
from bmad.config.loader import load_config
from bmad.config.models import BmadConfig
from bmad.core.errors import Unreachable, UsageError


def _config(tmp_path: Path, *envs: str) -> BmadConfig:
    body = "".join(f"  {name}: {{}}\n" for name in envs)
    path = tmp_path / "bmad.yaml"
    path.write_text(f"version: 1\nservice:\n  name: hello\nenvironments:\n{body}", encoding="utf-8")
    return load_config(path)


def test_the_only_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BMAD_ENV", raising=False)
    assert pick_env(_config(tmp_path, "dev"), None) == "dev"


def test_env_option_wins_over_bmad_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, "dev", "prod")
    monkeypatch.setenv("BMAD_ENV", "prod")
    assert (pick_env(config, None), pick_env(config, "dev")) == ("prod", "dev")


def test_several_environments_need_a_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BMAD_ENV", raising=False)
    config = _config(tmp_path, "dev", "prod")
    with pytest.raises(UsageError, match="say which with --env") as caught:
        pick_env(config, None)
    assert caught.value.hint == "defined environments: dev, prod"
    assert pick_env(config, None, required=False) == ""
    with pytest.raises(UsageError):
        pick_env(config, "staging")


def test_guard_turns_an_error_into_its_exit_code_and_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise Unreachable("prometheus", "querying", "connection refused")

    assert guard(broken, as_json=True) == 3
    out, err = capsys.readouterr()
    assert json.loads(out)["exit_code"] == 3
    assert err == "error: prometheus: querying failed: connection refused\n"


def test_guard_passes_a_returned_code() -> None:
    assert guard(lambda: 3, as_json=False) == 3
    assert guard(lambda: 0, as_json=False) == 0
    assert guard(lambda: None, as_json=False) == 0


def test_guard_with_debug_prints_the_traceback_too(capsys: pytest.CaptureFixture[str]) -> None:
    """Guards issue 14: there was no way to see a traceback on the terminal (--debug)."""

    def broken() -> None:
        raise UsageError("bad input")

    assert guard(broken, as_json=False, debug=True) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and err.endswith("error: bad input\n")
