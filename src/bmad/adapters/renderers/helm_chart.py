"""What both Helm renderers share: the chart to render, its values files checked before rendering,
and each rendered template turned into documents that name the template file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bmad.core.datatypes import datatype
from bmad.ports.renderer import RenderedDocument, RenderError

from .documents import display_path, kind_and_name, object_line, split_documents


@datatype(frozen=True)
class HelmRelease:
    """A chart with the values and names one environment renders it with."""

    chart: Path
    values_files: tuple[Path, ...]
    set_values: tuple[tuple[str, str], ...]  # (key path, value) as helm --set takes them
    release: str
    namespace: str
    base_dir: Path

    @property
    def shown(self) -> str:
        return display_path(self.chart, self.base_dir)

    def check_files(self, renderer: str) -> None:
        """The chart and every values file exist (helm's own message on a missing file names no setting)."""
        if not (self.chart / "Chart.yaml").is_file():
            raise RenderError(f"{renderer}: no Chart.yaml in the chart folder", file=self.shown)
        for values in self.values_files:
            if not values.is_file():
                raise RenderError(
                    f"{renderer}: the values file does not exist", file=display_path(values, self.base_dir)
                )

    def template_file(self, rendered_path: str) -> Path:
        """The file a rendered template came from: ``<chart name>/templates/x.yaml`` -> chart/templates/x.yaml."""
        _, _, inside = rendered_path.partition("/")
        return self.chart / inside

    def documents(self, templates: Iterable[tuple[str, str]]) -> tuple[RenderedDocument, ...]:
        """Each YAML document of each rendered (template path, text), with its template file and line."""
        found: list[RenderedDocument] = []
        for rendered_path, text in templates:
            if not rendered_path.endswith((".yaml", ".yml", ".json")):
                continue  # NOTES.txt and other non-manifest output
            path = self.template_file(rendered_path)
            for document in split_documents(text):
                kind, name = kind_and_name(document)
                found.append(
                    RenderedDocument(display_path(path, self.base_dir), document, object_line(path, kind, name))
                )
        return tuple(found)
