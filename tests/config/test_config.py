"""The config loader in-process: file:line:column, field paths, did-you-mean, defaults, the starter."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.config.loader import load_config, load_config_text
from bmad.core.errors import ConfigError, ExitCode
from bmad.engine.starter import render_starter, write_starter

GOOD = "version: 1\nservice:\n  name: hello\nenvironments:\n  dev: {}\n  production:\n    production: true\n"


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, source="bmad.yaml")
    assert caught.value.exit_code is ExitCode.USAGE
    return caught.value


def test_environment_defaults_follow_risk() -> None:
    config = load_config_text(GOOD + "  staging:\n    risk: high\n")
    dev, prod, staging = (config.environment(n) for n in ("dev", "production", "staging"))
    assert (dev.warnings_fail, dev.dirty_allowed) == (False, True)
    assert (prod.warnings_fail, prod.dirty_allowed) == (True, False)
    assert staging.warnings_fail and staging.dirty_allowed


def test_unknown_nested_key_names_its_line_and_a_close_match() -> None:
    err = error_of(GOOD + "records:\n  brnach: x\n")
    assert (err.line, err.column, err.field) == (9, 3, "records.brnach")
    assert "did you mean 'branch'?" in err.reason


def test_plugins_only_name_the_four_phases() -> None:
    err = error_of(GOOD + "plugins:\n  deploi: my.module\n")
    assert err.line == 9 and "plugins" in (err.field or "")
    assert load_config_text(GOOD + "plugins:\n  deploy: my.module\n").plugins == {"deploy": "my.module"}


def test_literal_secret_values_are_refused() -> None:
    err = error_of(GOOD + "secrets:\n  token: hunter2hunter2\n")
    assert "never written in bmad.yaml" in err.reason and err.line == 9
    assert "hunter2hunter2" not in err.render()


def test_duplicate_key_and_top_level_list() -> None:
    assert "duplicate key 'service'" in error_of(GOOD + "service:\n  name: x\n").reason
    assert "expected a mapping at the top level" in error_of("- a\n- b\n").reason


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bmad.yaml"
    path.write_bytes(b"version: 1\nservice:\n  name: h\xe9llo\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 3 and "not valid UTF-8" in caught.value.reason


def test_starter_validates_with_and_without_findings(tmp_path: Path) -> None:
    bare = render_starter(tmp_path, service="bare")
    assert bare.found == {}
    config = load_config_text(bare.text)
    assert config.service.name == "bare" and set(config.environments) == {"dev", "staging", "production"}
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "test").mkdir()
    found = write_starter(tmp_path)
    assert found.found == {"containerfile": "Dockerfile", "manifests": "manifests/", "tests": "test/"}
    loaded = load_config(found.path)
    assert loaded.build.containerfile == "Dockerfile"
    assert "# found" in found.text


def test_every_config_field_is_described() -> None:
    """``bmad init`` and the docs read the descriptions: a field without one would drift."""
    import dataclasses
    import typing

    from bmad.config.base import Model
    from bmad.config.models import BmadConfig

    seen: set[type[Model]] = set()
    undescribed: list[str] = []

    def walk(model: type[Model]) -> None:
        if model in seen:
            return
        seen.add(model)
        hints = typing.get_type_hints(model)
        for field in dataclasses.fields(model):  # type: ignore[arg-type]
            if not field.metadata.get("description"):
                undescribed.append(f"{model.__name__}.{field.name}")
            for inner in _models_in(hints[field.name]):
                walk(inner)

    walk(BmadConfig)
    assert len(seen) > 30 and undescribed == []


def _models_in(annotation: object) -> list[type]:
    from typing import get_args

    from bmad.config.base import Model

    if isinstance(annotation, type) and issubclass(annotation, Model):
        return [annotation]
    return [found for arg in get_args(annotation) for found in _models_in(arg)]


def test_the_starter_comments_are_the_field_descriptions(tmp_path: Path) -> None:
    from bmad.config.models import BmadConfig, ServiceConfig

    text = render_starter(tmp_path, service="bare").text
    assert f"# {ServiceConfig.help('repository')}" in text
    assert f"# {BmadConfig.help('state_dir')}" in text
    assert "# Phase records are committed to this branch" in text


BRANCHES = [
    "bmad/records",
    "records-1",
    "ok@x",
    "a.b/c",
    "a..b",
    "a b",
    "a/.x",
    "x.lock",
    "r/x.lock/y",
    "a/",
    "/a",
    "a//b",
    "@",
    "a@{b",
    "a\\b",
    ".a",
    "a.",
    "a:b",
    "a~1",
    "a^",
    "a?",
    "a*",
    "a[b",
    "tab\tname",
    "",
]


@pytest.mark.parametrize("branch", BRANCHES)
def test_records_branch_is_what_git_accepts(branch: str) -> None:
    """records.branch is refused at its line exactly when ``git check-ref-format`` refuses the branch
    (the record commit would otherwise fail on every phase, after the phase ran)."""
    import json
    import subprocess

    git_ok = subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], check=False).returncode == 0
    text = GOOD + f"records:\n  branch: {json.dumps(branch)}\n"
    if git_ok:
        assert load_config_text(text).records.branch == branch
    else:
        err = error_of(text)
        assert (err.line, err.field) == (9, "records.branch")
        assert "git branch name" in err.reason
