"""docs/config.md is what the models' descriptions render: a field added or reworded without
regenerating it fails here (`python -m bmad.config.reference > docs/config.md`)."""

from __future__ import annotations

import dataclasses

from bmad.config.models import BmadConfig
from bmad.config.reference import render_markdown
from tests.helpers import REPO_ROOT


def test_committed_reference_matches_the_models() -> None:
    committed = (REPO_ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "regenerate: python -m bmad.config.reference > docs/config.md"


def test_every_top_level_field_is_in_the_reference() -> None:
    text = render_markdown()
    for field in dataclasses.fields(BmadConfig):
        assert f"| `{field.name}` |" in text
