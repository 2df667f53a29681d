"""A bundled schema's compiled validator is found in the cache without building its document."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from bmad.adapters.kube_validate import BundledSchemaValidator, SchemaViolation

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
        except (fastjsonschema.JsonSchemaValueException, SchemaViolation) as exc:
            messages.append(str(exc))
    assert messages == ["data.spec.template.spec.containers[0].env[0].name must be string"] * 2


def _plant(cache: Path, marker: Path) -> Path:
    """Replace the one cached validator in ``cache`` with valid code that writes ``marker`` when run."""
    (entry,) = cache.glob("*.bin")
    source = f"open({str(marker)!r}, 'w').write('ran')\ndef validate(data):\n    return data\n"
    entry.write_bytes(marshal.dumps(compile(source, "<planted>", "exec")))
    return entry


def test_a_cached_validator_someone_else_could_have_written_is_never_run(tmp_path: Path) -> None:
    """Guards the schema cache, which is code that is exec'd: a file others may write (mode 0666)
    was loaded and run; it is now a miss, compiled again and rewritten owner-only."""
    cache, marker = tmp_path / "schemas", tmp_path / "marker"
    BundledSchemaValidator("1.30", cache_dir=cache).validate(CONFIG_MAP)
    entry = _plant(cache, marker)
    entry.chmod(0o666)
    again = BundledSchemaValidator("1.30", cache_dir=cache)
    assert again.validate({**CONFIG_MAP, "data": {"a": 1}}).status == "invalid"  # the real validator
    assert not marker.exists()
    assert (again.compiled_count, again.cache_hits) == (1, 0)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert BundledSchemaValidator("1.30", cache_dir=cache).validate(CONFIG_MAP).status == "valid"
    assert not marker.exists()


def test_a_cache_folder_others_can_open_is_not_read(tmp_path: Path) -> None:
    """Guards the schema cache: an owner-only file in a folder others can read or write (where it
    could be swapped) is not run either."""
    cache, marker = tmp_path / "schemas", tmp_path / "marker"
    BundledSchemaValidator("1.30", cache_dir=cache).validate(CONFIG_MAP)
    _plant(cache, marker).chmod(0o600)
    cache.chmod(0o755)
    again = BundledSchemaValidator("1.30", cache_dir=cache)
    assert again.validate(CONFIG_MAP).status == "valid"
    assert not marker.exists()
    assert (again.compiled_count, again.cache_hits) == (1, 0)


def test_the_cache_is_made_owner_only(tmp_path: Path) -> None:
    """The folders the cache creates are 0700 and its files 0600, whatever the umask."""
    cache = tmp_path / "xdg" / "bmad" / "schemas"
    previous = os.umask(0o022)
    try:
        BundledSchemaValidator("1.30", cache_dir=cache).validate(CONFIG_MAP)
    finally:
        os.umask(previous)
    assert [folder.stat().st_mode & 0o777 for folder in (cache.parent.parent, cache.parent, cache)] == [0o700] * 3
    assert [entry.stat().st_mode & 0o777 for entry in cache.iterdir()] == [0o600]


RUN_CACHED = """
import sys
from bmad.adapters.kube_validate import BundledSchemaValidator
validator = BundledSchemaValidator("1.30", cache_dir=sys.argv[1])
bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": "x"}]}}
good = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
statuses = [validator.validate(bad).status, validator.validate(good).status]
print(*statuses, validator.cache_hits, "fastjsonschema" in sys.modules)
"""


def test_a_cached_validator_runs_without_importing_fastjsonschema(tmp_path: Path) -> None:
    """Guards ANALYZE's start: the compiled code's import of the package's exceptions is taken out
    (its names given by bmad), so a cache hit does not load fastjsonschema and its draft generators."""
    import subprocess
    import sys

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", RUN_CACHED, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
        )
        return done.stdout.split()

    assert run() == ["invalid", "valid", "0", "True"]  # compiled (fastjsonschema generates the code)
    assert run() == ["invalid", "valid", "1", "False"]  # from the cache: the package is not imported


RUN_FRACTION = """
import json, sys
from pathlib import Path
from bmad.adapters.kube_validate import BundledSchemaValidator
folder = Path(sys.argv[1]) / "crds"
validator = BundledSchemaValidator("1.30", extra_schema_dirs=[folder], cache_dir=Path(sys.argv[1]) / "cache")
def widget(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}
first = [validator.validate(widget(name="a")).status, "decimal" in sys.modules]
then = [validator.validate(widget(size=size)).status for size in (1.5, 1.3, 2, "x")]
print(*first, *then, "decimal" in sys.modules)
"""


def test_a_compiled_validator_imports_decimal_only_for_a_fraction(tmp_path: Path) -> None:
    """Guards ANALYZE's start: fastjsonschema's code imports decimal (~1 ms) for ``isinstance(x,
    Decimal)`` in every number check and ``Decimal(...)`` in a fractional ``multipleOf``; the import is
    taken out and decimal loaded only when a fraction is checked, with the same outcomes."""
    import json
    import subprocess
    import sys

    crds = tmp_path / "crds" / "example.com"
    crds.mkdir(parents=True)
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "size": {"type": "number", "multipleOf": 0.5}},
            }
        },
    }
    (crds / "widget_v1.json").write_text(json.dumps(schema), encoding="utf-8")
    runs = [
        subprocess.run(
            [sys.executable, "-c", RUN_FRACTION, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
        ).stdout.split()
        for _ in range(2)
    ]  # compiled (fastjsonschema imports decimal itself), then from the cache
    assert runs[0] == ["valid", "True", "valid", "invalid", "valid", "invalid", "True"]
    assert runs[1] == ["valid", "False", "valid", "invalid", "valid", "invalid", "True"]
