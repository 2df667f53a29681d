"""``helm template`` through a stand-in ``helm`` on PATH (no helm binary can be had on this machine).

The stand-in records its argv and prints output written in the format ``helm template`` documents
(https://helm.sh/docs/helm/helm_template/): each rendered template after ``---`` and a
``# Source: <chart name>/templates/<file>`` line, in Helm's install order (Service before Deployment).
It checks the argv bmad builds and how bmad parses the output; a real helm binary is not run here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from bmad.adapters.renderers import HelmRelease, HelmTemplateRenderer, renderer_for
from bmad.config.bundle_source import BundleSourceConfig
from bmad.config.validate import validate
from bmad.ports.renderer import RenderError
from tests.adapters.renderers.sources import helm_chart, write

HELM_TEMPLATE_OUTPUT = """\
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports:
    - port: 80
      targetPort: 8080
---
# Source: web/templates/deployment.yaml
# the service's Deployment; its replica count comes from the environment's values
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: team-a
spec:
  replicas: 4
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: web
          image: "registry.test/web:2"
"""


def stand_in_helm(bin_dir: Path, *, stdout: str, stderr: str = "", exit_code: int = 0) -> Path:
    """``bin_dir/helm``: writes its argv (one per line) to ``bin_dir/argv``, prints ``stdout``/``stderr``."""
    write(bin_dir / "stdout", stdout)
    write(bin_dir / "stderr", stderr)
    script = write(
        bin_dir / "helm",
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{bin_dir}/argv'\n"
        f"cat '{bin_dir}/stdout'\ncat '{bin_dir}/stderr' >&2\nexit {exit_code}\n",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def release(chart: Path) -> HelmRelease:
    return HelmRelease(
        chart=chart,
        values_files=(chart / "values-production.yaml",),
        set_values=(("image.tag", "2"),),
        release="shop",
        namespace="team-a",
        base_dir=chart.parent,
    )


def test_helm_template_gets_the_release_namespace_values_and_set_values_in_order(tmp_path: Path) -> None:
    """bmad's argv is ``helm template <release> <chart> --namespace <ns> --values <file>... --set k=v...``."""
    chart = helm_chart(tmp_path)
    helm = stand_in_helm(tmp_path / "bin", stdout=HELM_TEMPLATE_OUTPUT)
    HelmTemplateRenderer(release(chart), helm=str(helm)).render()
    argv = (tmp_path / "bin" / "argv").read_text(encoding="utf-8").splitlines()
    assert argv == [
        "template",
        "shop",
        str(chart),
        "--namespace",
        "team-a",
        "--values",
        str(chart / "values-production.yaml"),
        "--set",
        "image.tag=2",
    ]


def test_each_document_of_helm_templates_output_names_its_template_file_and_line(tmp_path: Path) -> None:
    """Each ``# Source:`` section becomes a document naming chart/templates/<file> and the object's line."""
    chart = helm_chart(tmp_path)
    helm = stand_in_helm(tmp_path / "bin", stdout=HELM_TEMPLATE_OUTPUT)
    rendered = HelmTemplateRenderer(release(chart), helm=str(helm)).render()
    assert rendered.renderer == "helm template"
    assert rendered.source == "chart"
    assert [(d.source, d.line) for d in rendered.documents] == [
        ("chart/templates/service.yaml", 1),
        ("chart/templates/deployment.yaml", 2),  # line 1 of the template is a comment
    ]
    deployment = yaml.safe_load(rendered.documents[1].text)
    assert deployment["spec"]["replicas"] == 4
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.test/web:2"


def test_helms_error_is_one_render_error_without_its_error_prefix(tmp_path: Path) -> None:
    """A failing ``helm template`` (exit 1, ``Error: ...`` on stderr) is one RenderError naming the chart, exit 2."""
    chart = helm_chart(tmp_path)
    message = 'Error: template: web/templates/deployment.yaml:9:23: executing "x" at <.Values.nope.x>: nil pointer\n'
    helm = stand_in_helm(tmp_path / "bin", stdout="", stderr=message, exit_code=1)
    with pytest.raises(RenderError) as caught:
        HelmTemplateRenderer(release(chart), helm=str(helm)).render()
    assert str(caught.value).startswith("chart: helm template failed: template: web/templates/deployment.yaml:9:23")
    assert caught.value.exit_code == 2


def test_a_helm_binary_on_path_is_preferred_to_the_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``helm`` on PATH a Helm source renders through ``helm template``, not Helm's Go SDK."""
    chart = helm_chart(tmp_path)
    stand_in_helm(tmp_path / "bin", stdout=HELM_TEMPLATE_OUTPUT)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    source = validate(BundleSourceConfig, {"kind": "helm", "helm": {"chart": "chart"}})
    renderer = renderer_for(source, base_dir=tmp_path, service="shop", namespace="team-a")
    assert isinstance(renderer, HelmTemplateRenderer)
    assert renderer.render().renderer == "helm template"
    assert (tmp_path / "bin" / "argv").read_text(encoding="utf-8").splitlines()[:3] == ["template", "shop", str(chart)]
