"""Render a Helm chart through Helm's own Go SDK (PyPI ``helm-python-sdk``, the optional extra
``bmad[helm]``), used when no ``helm`` binary is on PATH. It renders offline, as ``helm template`` does."""

from __future__ import annotations

from typing import Any

from bmad.core.yaml_limits import safe_load_limited
from bmad.ports.renderer import RenderedBundle, RenderError

from .helm_chart import HelmRelease

RENDERER = "helm-python-sdk"


class HelmSdkRenderer:
    def __init__(self, release: HelmRelease) -> None:
        self.release = release

    def render(self) -> RenderedBundle:
        release = self.release
        release.check_files(RENDERER)
        try:
            import helm_python
        except ImportError:
            raise RenderError(
                "rendering a Helm chart needs a helm binary on PATH or the extra bmad[helm] (helm-python-sdk)",
                file=release.shown,
                hint="pip install 'bmad[helm]', or put helm on PATH",
            ) from None
        try:
            chart = helm_python.Chart.load(str(release.chart))
            try:
                values = self._values(helm_python)
                rendered = chart.render(values, name=release.release, namespace=release.namespace, is_install=True)
            finally:
                chart.close()
        except helm_python.HelmError as exc:
            raise RenderError(f"{RENDERER} failed: {exc}", file=release.shown) from None
        return RenderedBundle(RENDERER, release.shown, release.documents(sorted(rendered.items())))

    def _values(self, helm_python: Any) -> dict[str, Any]:
        """Values files in order, then each ``set`` value, merged as helm -f / --set merge them."""
        merged: dict[str, Any] = {}
        for path in self.release.values_files:
            # Limited: an alias bomb or a recursive alias in a values file is refused, not expanded.
            loaded = safe_load_limited(path.read_text(encoding="utf-8"), source=str(path)) or {}
            if not isinstance(loaded, dict):
                raise RenderError(f"{RENDERER}: the values file is not a mapping", file=str(path))
            _merge(merged, loaded)
        for key, value in self.release.set_values:
            _merge(merged, helm_python.parse_set_string(f"{key}={value}"))
        return merged


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    """Deep merge: mappings merge key by key, anything else replaces (Helm's coalescing of user values)."""
    for key, value in values.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value)
        else:
            into[key] = value
