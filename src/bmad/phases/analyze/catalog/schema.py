"""The shape of a catalog data file, as pydantic models: unknown keys and wrong types are errors.

A data file (``testing.yaml``, ``security.yaml``, ...) is a list of checks; its category is the
file's name. Each check names the evaluator that runs it (the evaluator's registration gives the
scope) and, under ``cases``, how to make the test baseline pass and fail it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from bmad.phases.analyze.readiness_data import Severity

PathPart = Annotated[str | int, Field(union_mode="left_to_right")]
PatchPath = list[PathPart]  # a root ("container", "pod", "Service/web", "settings", ...) then keys


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SetPatch(_Strict):
    """Set the field at ``set`` to ``value``."""

    set: PatchPath
    value: Any


class DeletePatch(_Strict):
    """Delete the field at ``delete``."""

    delete: PatchPath


class AppendPatch(_Strict):
    """Append ``value`` to the list at ``append``."""

    append: PatchPath
    value: Any


class CopyPatch(_Strict):
    """Set the field at ``to`` to a copy of the field at ``copy``."""

    copy_: PatchPath = Field(alias="copy")
    to: PatchPath


class AddPatch(_Strict):
    """Add objects to the bundle: a named test fixture (``statefulset``, ``cronjob``, ``job``,
    ``pvc``) or one object written out."""

    add: str | dict[str, Any]


class DuplicatePatch(_Strict):
    """Add a copy of the first object of kind ``duplicate``, renamed to ``name`` when given."""

    duplicate: str
    name: str | None = None


class RemovePatch(_Strict):
    """Remove every object of kind ``remove``."""

    remove: str


class UnattestPatch(_Strict):
    """Drop the attestation of the item ``unattest``."""

    unattest: str


class YamlPatch(_Strict):
    """Append raw text to the manifest file (for parse errors)."""

    yaml: str


class DryRunFailure(_Strict):
    kind: str
    name: str
    line: int
    message: str


class DryRunPatch(_Strict):
    """Record a server dry-run with these failures (empty list: a clean dry-run)."""

    dry_run: list[DryRunFailure]


_PATCH_KINDS: dict[str, type[_Strict]] = {
    "set": SetPatch,
    "delete": DeletePatch,
    "append": AppendPatch,
    "copy": CopyPatch,
    "add": AddPatch,
    "duplicate": DuplicatePatch,
    "remove": RemovePatch,
    "unattest": UnattestPatch,
    "yaml": YamlPatch,
    "dry_run": DryRunPatch,
}


def _patch_kind(value: Any) -> str | None:
    """Which patch a mapping is: the first of its keys that names one."""
    if isinstance(value, BaseModel):
        return next((key for key, cls in _PATCH_KINDS.items() if isinstance(value, cls)), None)
    return next((key for key in value if key in _PATCH_KINDS), None) if isinstance(value, dict) else None


Patch = Annotated[
    Annotated[SetPatch, Tag("set")]
    | Annotated[DeletePatch, Tag("delete")]
    | Annotated[AppendPatch, Tag("append")]
    | Annotated[CopyPatch, Tag("copy")]
    | Annotated[AddPatch, Tag("add")]
    | Annotated[DuplicatePatch, Tag("duplicate")]
    | Annotated[RemovePatch, Tag("remove")]
    | Annotated[UnattestPatch, Tag("unattest")]
    | Annotated[YamlPatch, Tag("yaml")]
    | Annotated[DryRunPatch, Tag("dry_run")],
    Discriminator(_patch_kind, custom_error_type="patch", custom_error_message="not a known patch"),
]


class CheckCases(_Strict):
    """How to make the test baseline pass (no patches: the baseline as is) and fail a check."""

    model_config = ConfigDict(populate_by_name=True)

    validate_schema: bool = Field(default=False, alias="validate")  # run schema validation first
    pass_: list[Patch] = Field(default_factory=list, alias="pass")
    fail: list[Patch]


class CheckData(_Strict):
    """One entry of a catalog data file."""

    id: str = Field(pattern=r"^(TQ|SC|MO|IS|RE)-\d{3}$")
    name: str
    severity: Annotated[Severity, Field(strict=False)]  # written as its value, "high"
    evaluator: str
    params: dict[str, Any] = Field(default_factory=dict)
    applies_to: list[str] = Field(default_factory=list)
    guide: bool = False
    title: str
    rationale: str
    fix: str
    cases: CheckCases
