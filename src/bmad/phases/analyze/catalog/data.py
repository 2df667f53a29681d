"""The catalog's data files, and what loading them hands out besides the entries: a checked entry
with its test cases, and the error that names a mistake's file and line. Nothing here imports
pydantic (the schema is imported where the files are validated)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bmad.core.datatypes import datatype
from bmad.phases.analyze.readiness_data import CatalogEntry, Category

if TYPE_CHECKING:
    from bmad.phases.analyze.catalog.schema import CheckCases


class CatalogError(ValueError):
    """A catalog data file is malformed; the message starts with ``file:line``."""


@datatype(frozen=True)
class LoadedCheck:
    """A catalog entry with its test cases and where it is written."""

    entry: CatalogEntry
    cases: CheckCases
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def data_file_name(category: Category) -> str:
    return f"{category.slug}.yaml"


def data_texts() -> dict[Category, str]:
    """Each category's data file, as text, in category order."""
    package = Path(__file__).parent  # not importlib.resources: it imports tempfile and shutil
    return {category: (package / data_file_name(category)).read_text(encoding="utf-8") for category in Category}
