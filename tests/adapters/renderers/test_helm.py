"""A real Helm render (Helm's Go SDK through PyPI helm-python-sdk) of a chart written for the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bmad.adapters.renderers import HelmRelease, HelmSdkRenderer
from bmad.adapters.renderers.helm_cli import by_source
from bmad.core.errors import ConfigError
from bmad.ports.renderer import RenderedBundle, RenderError
from tests.adapters.renderers.sources import helm_chart, write

pytest.importorskip("helm_python")


def render(chart: Path, *values: str, sets: tuple[tuple[str, str], ...] = ()) -> RenderedBundle:
    release = HelmRelease(
        chart=chart,
        values_files=tuple(chart / v for v in values),
        set_values=sets,
        release="shop",
        namespace="team-a",
        base_dir=chart.parent,
    )
    return HelmSdkRenderer(release).render()


def deployment(rendered: RenderedBundle) -> dict[str, object]:
    return next(d for d in (yaml.safe_load(x.text) for x in rendered.documents) if d["kind"] == "Deployment")


def test_values_per_environment_and_set_values_render_as_helm_merges_them(tmp_path: Path) -> None:
    """Chart defaults, then the environment's values file, then ``set``; release name and namespace applied."""
    chart = helm_chart(tmp_path)
    assert deployment(render(chart, "values-dev.yaml"))["spec"]["replicas"] == 2  # type: ignore[index]
    production = deployment(render(chart, "values-production.yaml", sets=(("image.tag", "2"),)))
    assert production["spec"]["replicas"] == 4  # type: ignore[index]
    container = production["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert container["image"] == "registry.test/web:2"
    assert production["metadata"] == {"name": "shop", "namespace": "team-a"}


def test_each_document_names_its_template_file_and_line(tmp_path: Path) -> None:
    """Findings point at the template: the file from the render and the object's first line in it."""
    rendered = render(helm_chart(tmp_path), "values-dev.yaml")
    assert rendered.renderer == "helm-python-sdk"
    assert [(d.source, d.line) for d in rendered.documents] == [
        ("chart/templates/deployment.yaml", 2),  # line 1 is a comment
        ("chart/templates/service.yaml", 1),
    ]
    assert "# Source: chart/templates/deployment.yaml" in rendered.text()
    assert "installed" not in rendered.text()  # NOTES.txt is not a manifest


def test_a_template_error_is_one_error_with_helms_message_and_the_template(tmp_path: Path) -> None:
    """A chart that does not render stops with Helm's message (template file:line) and the chart."""
    chart = helm_chart(tmp_path)
    write(chart / "templates" / "broken.yaml", "kind: ConfigMap\ndata:\n  x: {{ .Values.image.tag.nope }}\n")
    with pytest.raises(RenderError) as caught:
        render(chart)
    message = str(caught.value)
    assert message.startswith("chart: helm-python-sdk failed:")
    assert "web/templates/broken.yaml:3" in message
    assert caught.value.exit_code == 2


def test_a_missing_values_file_is_named(tmp_path: Path) -> None:
    """A values file that does not exist is refused with its path before Helm runs."""
    with pytest.raises(RenderError, match=r"^chart/values-qa\.yaml: helm-python-sdk: the values file does not exist"):
        render(helm_chart(tmp_path), "values-qa.yaml")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("image:\n  tag: 1\ndb:\n  password: *S3cret-pw\n", "invalid YAML: found undefined alias"),
        ("db:\n  password: 'S3cret-pw\n", "invalid YAML"),
        ("a: &a [*a]\n", "recursive alias"),
    ],
    ids=["unquoted secret read as an alias", "unclosed quote", "recursive alias"],
)
def test_a_values_file_that_is_not_yaml_names_the_line_never_the_value(tmp_path: Path, text: str, reason: str) -> None:
    """PyYAML's message quotes the line it stopped at (for a text) and an alias's name: both are a
    values file's secret. Before, the RenderError carried ``str(exc)``; a recursive alias was expanded."""
    chart = helm_chart(tmp_path)
    write(chart / "values-bad.yaml", text)
    with pytest.raises(ConfigError) as caught:
        render(chart, "values-bad.yaml")
    assert reason in str(caught.value) and caught.value.line
    assert "S3cret-pw" not in str(caught.value) + str(caught.value.hint)


def test_helm_templates_output_is_cut_at_each_source_comment() -> None:
    """``helm template`` (used when a helm binary is on PATH) marks each template with ``# Source:``."""
    output = "---\n# Source: web/templates/a.yaml\nkind: A\n---\n# Source: web/templates/b.yaml\nkind: B\n"
    assert [(p, t.strip(" \n-")) for p, t in by_source(output)] == [
        ("web/templates/a.yaml", "kind: A"),
        ("web/templates/b.yaml", "kind: B"),
    ]
