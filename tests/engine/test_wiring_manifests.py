"""DEPLOY's read of a manifests folder (``bmad.engine.wiring.deploy.load_manifests``): as ANALYZE reads it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bmad.config.loader import load_config_text
from bmad.core.errors import ConfigError
from bmad.engine.wiring.bundle_source import rendered_objects
from bmad.engine.wiring.deploy import load_manifests
from bmad.ports.renderer import RenderedBundle, RenderedDocument, RenderError
from tests.core.test_yaml_limits import alias_bomb

BMAD_YAML = """\
version: 1
service: {name: hello}
environments:
  stg:
    target:
      kind: kubernetes
      kubernetes: {manifests: k8s}
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {LEVEL: info}\n"


def _load(tmp_path: Path, manifest: str) -> object:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "a.yaml").write_text(CONFIGMAP)
    (tmp_path / "k8s" / "b.yaml").write_text(manifest)
    config = load_config_text(BMAD_YAML, source=str(tmp_path / "bmad.yaml"))
    return load_manifests(dataclasses.replace(config, source_path=str(tmp_path / "bmad.yaml")), "stg")


def test_every_document_with_a_kind_is_read(tmp_path: Path) -> None:
    objects = _load(tmp_path, "---\n" + CONFIGMAP.replace("settings", "more") + "---\n{}\n")
    assert [o["metadata"]["name"] for o in objects] == ["settings", "more"]  # type: ignore[attr-defined]


def test_an_unquoted_secret_read_as_an_alias_is_named_by_its_line_only(tmp_path: Path) -> None:
    """Before, the error carried ``str(exc)``: PyYAML's message with the alias's name and, for a text,
    the whole line it stopped at (``password: *S3cret-pw``)."""
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: *S3cret-pw\n"
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, secret)
    assert (refused.value.file, refused.value.line) == (str(tmp_path / "k8s" / "b.yaml"), 5)
    assert "S3cret-pw" not in str(refused.value) + str(refused.value.hint)


def test_an_alias_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, "kind: ConfigMap\n" + alias_bomb())
    assert refused.value.file == str(tmp_path / "k8s" / "b.yaml") and "expand" in str(refused.value)


def test_a_rendered_document_that_is_not_yaml_names_the_template_line_never_its_text() -> None:
    """A renderer's output that does not parse (a template writing a value unquoted): before, the
    RenderError carried PyYAML's message, which quotes the line it stopped at (here the token)."""
    document = RenderedDocument("chart/templates/secret.yaml", "kind: Secret\nstringData:\n  token: 'tk-0123456789\n")
    with pytest.raises(RenderError) as refused:
        rendered_objects(RenderedBundle("helm template", "chart", (document,)))
    assert str(refused.value).startswith("chart/templates/secret.yaml:4:1: helm template produced invalid YAML:")
    assert "tk-0123456789" not in str(refused.value)
