"""Reading manifests (lines, bad input) and validating them (schemas, API lifecycle, CRDs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import kubernetes_validate
import pytest

from bmad.adapters.kube_validate import BundledSchemaValidator, resolve_version, schema_file_name
from bmad.core.errors import ConfigError
from bmad.phases.analyze.manifest_files import load_bundle, parse_manifest_text
from bmad.phases.analyze.manifests import selector_matches
from bmad.phases.analyze.validation import api_status, validate_bundle

DATA = Path(__file__).resolve().parents[2] / "data" / "manifests"


@pytest.fixture(scope="module")
def validator() -> BundledSchemaValidator:
    return BundledSchemaValidator("1.30")


def _line(path: Path, needle: str) -> int:
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(needle)


def test_schema_findings_carry_file_and_exact_line(validator: BundledSchemaValidator) -> None:
    bundle = load_bundle([DATA / "hello"], relative_to=DATA)
    report = validate_bundle(bundle, validator, kubernetes_version="1.30")
    schema = {f.message.split(":")[0]: f for f in report.findings if f.code == "schema"}
    deployment = DATA / "hello" / "deployment.yaml"
    unknown = schema["spec.template.spec.containers.0.imagePullPolicyy"]
    assert "imagePullPolicyy" in unknown.message
    assert unknown.file == "hello/deployment.yaml"
    bad_replicas = schema["spec.replicas"]
    assert bad_replicas.line == _line(deployment, 'replicas: "two"')
    assert bad_replicas.object == "shop/Deployment/hello"
    assert unknown.line == _line(deployment, "imagePullPolicyy:")  # the unknown key itself
    removed = next(f for f in report.findings if f.code == "removed_api")
    assert removed.file == "hello/service.yaml"
    assert removed.line == _line(DATA / "hello" / "service.yaml", "networking.k8s.io/v1beta1")
    assert "networking.k8s.io/v1" in removed.message
    assert not report.ok


def test_fast_validation_agrees_with_kubernetes_validate(validator: BundledSchemaValidator) -> None:
    bundle = load_bundle([DATA / "hello"])
    for obj in bundle.objects:
        if api_status(obj.api_version, obj.kind, "1.30"):
            continue
        ours = validator.validate(obj.data).status
        try:
            kubernetes_validate.validate(obj.data, "1.30", strict=True)
            theirs = "valid"
        except kubernetes_validate.ValidationError:
            theirs = "invalid"
        assert ours == theirs, obj.ref


@pytest.mark.timeout(60)
def test_a_fifo_or_a_device_in_the_manifests_folder_is_a_finding_not_a_wait(tmp_path: Path) -> None:
    """Before, ANALYZE waited forever on a FIFO's open (nobody writes to it) and read a link to
    /dev/zero without end (its size is 0, under the limit)."""
    folder = tmp_path / "k8s"
    folder.mkdir()
    (folder / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    os.mkfifo(folder / "pipe.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    bundle = load_bundle([folder])
    assert len(bundle.objects) == 1
    found = {Path(f.file).name: (f.code, f.message) for f in bundle.findings}
    assert found == {
        name: ("unreadable", "not a regular file (a FIFO, device or socket): not read")
        for name in ("pipe.yaml", "zero.yaml")
    }


def test_bad_inputs_become_findings_not_crashes(tmp_path: Path, validator: BundledSchemaValidator) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"apiVersion: v1\n\x00\x01")
    bundle = load_bundle([DATA / "bad", big, binary], max_file_mb=10)
    by_file = {}
    for finding in bundle.findings:
        by_file.setdefault(Path(finding.file).name, []).append(finding)
    assert by_file["not-yaml.yaml"][0].code == "yaml"
    assert by_file["not-yaml.yaml"][0].line == _line(DATA / "bad" / "not-yaml.yaml", "other: value")
    assert by_file["list.yaml"][0].code == "not_mapping"
    assert "found a list" in by_file["list.yaml"][0].message
    assert by_file["duplicate.yaml"][0].code == "duplicate_key"
    assert by_file["duplicate.yaml"][0].line == 8
    assert "first at line 6" in by_file["duplicate.yaml"][0].message
    assert by_file["huge.yaml"][0].code == "too_large"
    assert "52.4 MB" in by_file["huge.yaml"][0].message
    assert by_file["binary.yaml"][0].code == "not_text"
    report = validate_bundle(bundle, validator, kubernetes_version="1.30")
    codes = {(Path(f.file or "").name, f.code) for f in report.findings}
    assert ("unknown-kind.yaml", "unknown_kind") in codes
    assert ("unknown-kind.yaml", "no_schema") in codes  # the custom resource: skipped, not failed
    mapping = [f for f in report.findings if Path(f.file or "").name == "mapping-expected.yaml"]
    assert any("metadata" in f.message for f in mapping)
    # kind: List is expanded into its items, each with its own line
    names = {o.name: o.line for o in bundle.objects if o.file.endswith("kind-list.yaml")}
    assert names == {"first": 4, "second": 9}


def test_custom_resources_validate_against_crd_in_bundle_and_schema_folder(tmp_path: Path) -> None:
    validator = BundledSchemaValidator("1.30", extra_schema_dirs=[tmp_path])
    (tmp_path / "widget_v1.json").write_text(
        json.dumps(
            {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}
        ),
        encoding="utf-8",
    )
    objects, _ = parse_manifest_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: big}\n", file="w.yaml"
    )
    outcome = validator.validate(objects[0].data)
    assert outcome.status == "invalid"
    assert outcome.errors[0].path == ("spec", "size")
    crd_text = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [color]
              properties: {color: {type: string}}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g, namespace: shop}
spec: {}
"""
    objects, findings = parse_manifest_text(crd_text, file="gadget.yaml")
    assert not findings
    from bmad.phases.analyze.manifests import Bundle

    report = validate_bundle(Bundle(objects), validator, kubernetes_version="1.30")
    errors = [f for f in report.errors if f.code == "schema"]
    assert len(errors) == 1 and "color" in errors[0].message
    assert errors[0].line == crd_text.splitlines().index("spec: {}") + 1  # the Gadget's spec


def test_compiled_validators_are_cached_on_disk(tmp_path: Path) -> None:
    first = BundledSchemaValidator("1.30", cache_dir=tmp_path)
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
    assert first.validate(obj).status == "valid"
    assert first.compiled_count == 1
    second = BundledSchemaValidator("1.30", cache_dir=tmp_path)
    assert second.validate(obj).status == "valid"
    assert second.validate({**obj, "data": {"a": 1}}).status == "invalid"
    assert (second.compiled_count, second.cache_hits) == (0, 1)


def test_versions_and_file_names() -> None:
    assert resolve_version("1.30") == "1.30.0"
    assert resolve_version("v1.31.4") == "1.31.0"
    with pytest.raises(ConfigError):
        resolve_version("1.99")
    assert schema_file_name("rbac.authorization.k8s.io/v1", "Role") == "role-rbac-v1.json"
    assert schema_file_name("v1", "Service") == "service-v1.json"
    assert api_status("batch/v1beta1", "CronJob", "1.30") == ("removed", "batch/v1", "1.25")
    assert api_status("batch/v1beta1", "CronJob", "1.22") == ("deprecated", "batch/v1", "1.25")
    assert api_status("batch/v1", "CronJob", "1.30") is None


def test_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({}, labels)
    assert not selector_matches(None, labels)
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "api"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, labels)
    assert not selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, labels
    )
    assert selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert selector_matches({"app": "web"}, labels)  # a Service's plain map


def test_relations_across_objects() -> None:
    from tests.phases.analyze.fixtures import build

    bundle = build().bundle
    web = bundle.find("Deployment", "web", "shop")
    assert web is not None
    assert [s.name for s in bundle.services_selecting(web)] == ["web"]
    assert [h.name for h in bundle.hpas_targeting(web)] == ["web"]
    assert [p.name for p in bundle.pdbs_covering(web)] == ["web"]
    assert [n.name for n in bundle.network_policies_covering(web, "Ingress")] == ["web"]
    assert bundle.find("Deployment", "web", "other") is None
    assert bundle.pods_selected({"app": "web"}, "other") == []


def test_line_of_follows_paths() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: x\n"
    objects, _ = parse_manifest_text(text, file="p.yaml")
    pod = objects[0]
    assert pod.line_of(("spec", "containers", 0, "image")) == 8
    assert pod.line_of(("spec", "containers", 5)) == 6  # deepest existing node
    assert pod.line_of(()) == 1


def test_object_fields_are_cached_without_a_lock_per_first_read() -> None:
    """Guards reading a large bundle (session 5): functools.cached_property takes a lock on every
    first read in Python 3.11, about a third of the cost of reading 1,000 objects' fields once."""
    import functools

    from bmad.phases.analyze.manifests import ManifestObject, cached_value

    obj = ManifestObject(
        data={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}},
        file="k8s/svc.yaml",
        line=3,
    )
    assert (obj.kind, obj.name, obj.namespace, obj.key) == ("Service", "web", "shop", ("shop", "Service", "web"))
    assert vars(obj)["kind"] == "Service"  # kept on the instance: later reads skip the descriptor
    descriptors = [value for value in vars(ManifestObject).values() if hasattr(value, "__get__")]
    assert not any(isinstance(value, functools.cached_property) for value in descriptors)
    assert isinstance(vars(ManifestObject)["kind"], cached_value)
