"""A bundled schema's compiled validator is found in the cache without building its document."""

from __future__ import annotations

import marshal
from pathlib import Path

from bmad.adapters.kube_validate import BundledSchemaValidator

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}


def test_a_cache_hit_reads_no_definitions_until_an_error_is_explained(tmp_path: Path) -> None:
    """Guards ANALYZE's fixed cost: every run parsed the 1.3 MB definitions file and rebuilt each
    kind's self-contained schema only to find its compiled validator in the cache."""
    BundledSchemaValidator("1.30", cache_dir=tmp_path).validate(CONFIG_MAP)
    warm = BundledSchemaValidator("1.30", cache_dir=tmp_path)
    assert warm.validate(CONFIG_MAP).status == "valid"
    assert (warm.compiled_count, warm.cache_hits) == (0, 1)
    assert warm._definitions is None  # what a hit must not load
    invalid = warm.validate({**CONFIG_MAP, "data": {"a": 1}})
    assert invalid.status == "invalid"
    assert [error.path for error in invalid.errors] == [("data", "a")]


def test_the_key_names_the_definitions_the_schema_draws_from(tmp_path: Path) -> None:
    """Another version's definitions file (its own bytes) is another key: never a stale validator."""
    first = BundledSchemaValidator("1.30", cache_dir=tmp_path)
    first.validate(CONFIG_MAP)
    other = BundledSchemaValidator("1.31", cache_dir=tmp_path)
    assert other.validate(CONFIG_MAP).status == "valid"
    assert (other.compiled_count, other.cache_hits) == (1, 0)


def _names(code: object) -> set[str]:
    """Every global or attribute name the code object and the functions inside it use."""
    found = set(getattr(code, "co_names", ()))
    for const in getattr(code, "co_consts", ()):
        if hasattr(const, "co_names"):
            found |= _names(const)
    return found


def test_compiled_validators_name_nested_values_without_building_locals(tmp_path: Path) -> None:
    """Guards validation speed (session 5): fastjsonschema's code built a dict of locals() for
    every nested value it named; the rewritten code gives the same messages without it."""
    import fastjsonschema

    validator = BundledSchemaValidator("1.30", cache_dir=tmp_path)
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "x", "env": [{"name": 1}]}]},
            },
        },
    }
    assert validator.validate(broken).status == "invalid"
    compiled = validator._compiled[("apps/v1", "Deployment")]
    assert compiled is not None and compiled.fast is not None
    cached = next(tmp_path.glob("*.bin")).read_bytes()
    assert "locals" not in _names(marshal.loads(cached))
    reference = fastjsonschema.compile(compiled.schema_of(), use_formats=False, detailed_exceptions=False)
    messages = []
    for fast in (compiled.fast, reference):
        try:
            fast(broken)
        except fastjsonschema.JsonSchemaValueException as exc:
            messages.append(str(exc))
    assert messages == ["data.spec.template.spec.containers[0].env[0].name must be string"] * 2
