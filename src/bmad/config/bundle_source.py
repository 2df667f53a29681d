"""Where an environment's Kubernetes bundle comes from: a folder of YAML, a kustomization, or a Helm chart.

Paths are relative to bmad.yaml. Whatever the source, the rendered objects are what ANALYZE checks and
DEPLOY applies (docs/deploy.md, "Sources of the bundle").
"""

from typing import Literal

from bmad.config.base import Model, config_model, setting


@config_model
class HelmChartConfig(Model):
    """A chart rendered as ``helm template`` renders it: chart defaults, then values files, then ``set``."""

    chart: str = setting(description="folder of the chart (holds Chart.yaml), relative to bmad.yaml")
    values: list[str] = setting(
        default=[], description="values files merged over the chart's values.yaml, in order (helm -f)"
    )
    set: dict[str, str] = setting(
        default={},
        description='values given as helm --set gives them, e.g. {"image.tag": "2"}; applied after the values files',
    )
    release: str | None = setting(default=None, description="the release name templates see; default: service name")
    namespace: str | None = setting(
        default=None, description='the namespace templates see; default: the target\'s namespace, then "default"'
    )


@config_model
class BundleSourceConfig(Model):
    """How the bundle is obtained: ``folder`` (plain YAML, today's behaviour), ``kustomize`` or ``helm``."""

    kind: Literal["folder", "kustomize", "helm"] = setting(
        default="folder", description="folder (YAML files as written), kustomize (kubectl kustomize) or helm"
    )
    kustomize: str | None = setting(
        default=None, description="folder holding the kustomization.yaml to build (kind: kustomize)"
    )
    helm: HelmChartConfig | None = setting(default=None, description="the chart and its values (kind: helm)")

    def after_validation(self) -> None:
        if self.kind == "kustomize" and not self.kustomize:
            raise ValueError("source.kind kustomize needs source.kustomize: the folder of the kustomization")
        if self.kind == "helm" and self.helm is None:
            raise ValueError("source.kind helm needs source.helm.chart")
