"""Where an environment's Kubernetes bundle comes from: a folder of YAML, a kustomization, or a Helm chart.

Paths are relative to bmad.yaml. Whatever the source, the rendered objects are what ANALYZE checks and
DEPLOY applies (docs/deploy.md, "Sources of the bundle").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bmad.config.base import Model


class HelmChartConfig(Model):
    """A chart rendered as ``helm template`` renders it: chart defaults, then values files, then ``set``."""

    chart: str = Field(description="folder of the chart (holds Chart.yaml), relative to bmad.yaml")
    values: list[str] = Field(
        default=[], description="values files merged over the chart's values.yaml, in order (helm -f)"
    )
    set: dict[str, str] = Field(
        default={},
        description='values given as helm --set gives them, e.g. {"image.tag": "2"}; applied after the values files',
    )
    release: str | None = Field(default=None, description="the release name templates see; default: service name")
    namespace: str | None = Field(
        default=None, description='the namespace templates see; default: the target\'s namespace, then "default"'
    )


class BundleSourceConfig(Model):
    """How the bundle is obtained: ``folder`` (plain YAML, today's behaviour), ``kustomize`` or ``helm``."""

    kind: Literal["folder", "kustomize", "helm"] = Field(
        default="folder", description="folder (YAML files as written), kustomize (kubectl kustomize) or helm"
    )
    kustomize: str | None = Field(
        default=None, description="folder holding the kustomization.yaml to build (kind: kustomize)"
    )
    helm: HelmChartConfig | None = Field(default=None, description="the chart and its values (kind: helm)")

    @model_validator(mode="after")
    def _settings_of_kind(self) -> BundleSourceConfig:
        if self.kind == "kustomize" and not self.kustomize:
            raise ValueError("source.kind kustomize needs source.kustomize: the folder of the kustomization")
        if self.kind == "helm" and self.helm is None:
            raise ValueError("source.kind helm needs source.helm.chart")
        return self
