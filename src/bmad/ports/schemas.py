"""Schema validation of Kubernetes objects (implemented by ``bmad.adapters.kube_validate``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any, Literal, Protocol

from bmad.core.datatypes import datatype

SchemaStatus = Literal["valid", "invalid", "skipped", "unknown_kind"]


@datatype(frozen=True)
class SchemaError:
    """One schema violation: the field path inside the object and what is wrong."""

    path: tuple[str | int, ...]
    message: str


@datatype(frozen=True)
class SchemaOutcome:
    """The schema validation of one Kubernetes object: valid, invalid or skipped, and why."""

    status: SchemaStatus
    errors: tuple[SchemaError, ...] = ()
    reason: str = ""  # why skipped / which schema was used
    schema: str | None = None


@datatype(frozen=True)
class CustomSchema:
    """A schema for a custom resource (from a CRD in the bundle or a schema folder)."""

    api_version: str
    kind: str
    schema: Mapping[str, Any] = field(default_factory=dict)


class SchemaValidator(Protocol):
    kubernetes_version: str

    def validate(self, obj: Mapping[str, Any]) -> SchemaOutcome:
        """Validate one object against the schema for its apiVersion/kind; never raises."""
        ...

    def add_custom_schema(self, schema: CustomSchema) -> None:
        """Register a custom-resource schema (e.g. from a CRD object of the bundle)."""
        ...
