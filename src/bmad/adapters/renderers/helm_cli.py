"""Render a Helm chart with ``helm template`` when a ``helm`` binary is on PATH; each document of its
output follows a ``# Source: <chart>/templates/x.yaml`` comment naming the template."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bmad.core import process
from bmad.ports.renderer import RenderedBundle, RenderError

from .helm_chart import HelmRelease

RENDERER = "helm template"
_SOURCE = re.compile(r"^# Source: (\S.*?)\s*$", re.MULTILINE)


class HelmTemplateRenderer:
    def __init__(self, release: HelmRelease, *, helm: str = "helm", timeout: float = 120.0) -> None:
        self.release = release
        self.helm = helm
        self.timeout = timeout

    def render(self) -> RenderedBundle:
        release = self.release
        release.check_files(RENDERER)
        argv = [self.helm, "template", release.release, str(release.chart), "--namespace", release.namespace]
        for path in release.values_files:
            argv += ["--values", str(path)]
        for key, value in release.set_values:
            argv += ["--set", f"{key}={value}"]
        result = process.run(argv, system="helm", timeout=self.timeout)
        if not result.ok:
            message = result.stderr.strip().removeprefix("Error: ")
            raise RenderError(f"{RENDERER} failed: {message}", file=release.shown)
        return RenderedBundle(RENDERER, release.shown, release.documents(by_source(result.stdout)))


def by_source(output: str) -> Iterator[tuple[str, str]]:
    """(template path, its text) for each ``# Source:`` section of ``helm template``'s output."""
    marks = list(_SOURCE.finditer(output))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following is not None else len(output)
        yield mark.group(1), output[mark.end() : end]
