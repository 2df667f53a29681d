"""The digest that decides whether a kept render may be reused: it changes with every file the render
reads (an overlay's base folder included) and with nothing else."""

from __future__ import annotations

from pathlib import Path

from bmad.adapters.renderers.fingerprint import source_fingerprint
from bmad.config.bundle_source import BundleSourceConfig
from bmad.config.validate import validate
from tests.adapters.renderers.sources import helm_chart, kustomize_tree, write


def test_an_overlay_is_rendered_again_when_its_base_changes(tmp_path: Path) -> None:
    """The base lies outside the overlay folder, found through the overlay's ``resources``."""
    deploy = kustomize_tree(tmp_path)
    source = validate(BundleSourceConfig, {"kind": "kustomize", "kustomize": "deploy/overlays/dev"})
    first = source_fingerprint(source, tmp_path)
    write(tmp_path / "unrelated.txt", "not read by the render\n")
    assert source_fingerprint(source, tmp_path) == first
    base = deploy / "base" / "deployment.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace("web", "shop"), encoding="utf-8")
    assert source_fingerprint(source, tmp_path) != first


def test_a_chart_is_rendered_again_when_a_values_file_or_the_settings_change(tmp_path: Path) -> None:
    chart = helm_chart(tmp_path)
    settings = {"kind": "helm", "helm": {"chart": "chart", "values": ["chart/values-dev.yaml"]}}
    first = source_fingerprint(validate(BundleSourceConfig, settings), tmp_path)
    write(chart / "values-dev.yaml", "replicas: 3\n")
    second = source_fingerprint(validate(BundleSourceConfig, settings), tmp_path)
    assert second != first
    settings["helm"]["set"] = {"image.tag": "2"}  # type: ignore[index]
    assert source_fingerprint(validate(BundleSourceConfig, settings), tmp_path) != second
