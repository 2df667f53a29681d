"""Manifest reading and validation that must not raise false alarms (issue 14, ANALYZE)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.adapters.kube_validate import BundledSchemaValidator
from bmad.phases.analyze.manifest_files import load_bundle
from bmad.phases.analyze.validation import validate_bundle

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {}\n"
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"


@pytest.fixture(scope="module")
def validator() -> BundledSchemaValidator:
    return BundledSchemaValidator("1.30")


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_kustomize_and_helm_files_are_skipped_before_required_fields(tmp_path: Path) -> None:
    """Guards: a kustomization.yaml (Kustomization, Component) was a critical "missing metadata.name"."""
    folder = _folder(
        tmp_path,
        {
            "configmap.yaml": CONFIGMAP,
            "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [configmap.yaml]\n",
            "component.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: []\n",
            "Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
        },
    )
    bundle = load_bundle([folder])
    assert [o.kind for o in bundle.objects] == ["ConfigMap"]
    assert bundle.findings == []


def test_empty_file_and_empty_list_are_fine_beside_objects(tmp_path: Path, validator: BundledSchemaValidator) -> None:
    """Guards: a file holding an empty List failed the bundle although other files had objects."""
    folder = _folder(
        tmp_path,
        {
            "configmap.yaml": CONFIGMAP,
            "empty.yaml": "",
            "list.yaml": "apiVersion: v1\nkind: List\nitems: []\n",
            "list-null.yaml": "apiVersion: v1\nkind: List\nitems:\n",
        },
    )
    report = validate_bundle(load_bundle([folder]), validator, kubernetes_version="1.30")
    assert report.ok and report.objects == 1, [f.message for f in report.findings]


def test_duplicate_key_is_a_warning_outside_strict_mode(tmp_path: Path, validator: BundledSchemaValidator) -> None:
    """Guards: a duplicated mapping key was an error even with strict_schemas: false."""
    folder = _folder(tmp_path, {"cm.yaml": CONFIGMAP.replace("data: {}", "data: {}\ndata: {a: b}")})
    relaxed = validate_bundle(load_bundle([folder]), validator, kubernetes_version="1.30", strict=False)
    strict = validate_bundle(load_bundle([folder]), validator, kubernetes_version="1.30", strict=True)
    assert [f.level for f in relaxed.findings if f.code == "duplicate_key"] == ["warning"]
    assert relaxed.ok
    assert [f.level for f in strict.findings if f.code == "duplicate_key"] == ["error"]


def test_missing_api_version_is_reported_once(tmp_path: Path, validator: BundledSchemaValidator) -> None:
    """Guards: a missing apiVersion was reported twice in different words (parse and schema)."""
    folder = _folder(tmp_path, {"cm.yaml": CONFIGMAP.replace("apiVersion: v1\n", "")})
    report = validate_bundle(load_bundle([folder]), validator, kubernetes_version="1.30")
    assert [f.message for f in report.errors] == ["missing required field(s): apiVersion"]


def test_reject_missing_schemas_error_does_not_say_skipped(tmp_path: Path, validator: BundledSchemaValidator) -> None:
    """Guards: with reject_missing_schemas the error still started "skipped: no schema"."""
    folder = _folder(tmp_path, {"widget.yaml": WIDGET})
    report = validate_bundle(load_bundle([folder]), validator, kubernetes_version="1.30", reject_missing_schemas=True)
    (error,) = report.errors
    assert not error.message.startswith("skipped")
    assert "no schema for example.com/v1 Widget" in error.message and "reject_missing_schemas" in error.message
