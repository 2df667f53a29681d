"""The cache of validated configs: a hit equals a validation, any change validates again."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bmad.config.cache import KEPT_CONFIGS, cache_file, cache_key, cached_config
from bmad.config.loader import load_config, load_config_text
from bmad.core.errors import ConfigError

GOOD = (
    "version: 1\nservice:\n  name: hello\nenvironments:\n  dev: {}\n  production:\n    production: true\n"
    "secrets:\n  token: {env: TOKEN}\nmeasure:\n  load_test:\n    levels: [1, 5]\n"
)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = tmp_path / "bmad.yaml"
    file.write_text(GOOD, encoding="utf-8")
    return file


def _validated(file: Path) -> object:
    return dataclasses.replace(
        load_config_text(file.read_text(encoding="utf-8"), source=str(file)), source_path=str(file.resolve())
    )


def _cache_of(file: Path) -> Path:
    """The cache file of ``file``'s current bytes."""
    return cache_file(cache_key(file.read_text(encoding="utf-8")))


def _edit_cached_name(file: Path, name: str) -> None:
    entry = json.loads(_cache_of(file).read_text(encoding="utf-8"))
    entry["config"]["service"]["name"] = name
    _cache_of(file).write_text(json.dumps(entry), encoding="utf-8")


def test_a_hit_gives_the_validated_config(config_file: Path) -> None:
    """Guards the rebuild from JSON: nested models, dicts of models, unions and floats come back equal."""
    first = load_config(config_file)
    assert _cache_of(config_file).is_file()
    _edit_cached_name(config_file, "hello")  # rewritten, still the same content: the next load is a hit
    second = load_config(config_file)
    assert first == second == _validated(config_file)
    assert second.secrets["token"].env == "TOKEN"
    assert second.measure.load_test.levels == [1, 5]


def test_a_hit_is_used_and_a_changed_file_is_validated_again(config_file: Path) -> None:
    """Guards the key: the cache answers only for the same bytes; new bytes get the full validation."""
    load_config(config_file)
    _edit_cached_name(config_file, "from-the-cache")
    assert load_config(config_file).service.name == "from-the-cache"
    config_file.write_text(GOOD + "records:\n  brnach: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert (caught.value.file, caught.value.line, caught.value.column) == (str(config_file), 14, 3)
    assert "did you mean 'branch'?" in caught.value.reason


def test_an_environment_variable_read_by_validation_is_part_of_the_key(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the key: a default taken from the environment is not served stale from the cache."""
    monkeypatch.delenv("BMAD_PROMETHEUS_FILE_SD_DIR", raising=False)
    assert load_config(config_file).environment("dev").target.local.prometheus_file_sd is None
    monkeypatch.setenv("BMAD_PROMETHEUS_FILE_SD_DIR", "/srv/sd")
    assert load_config(config_file).environment("dev").target.local.prometheus_file_sd == "/srv/sd"


def test_the_cache_file_is_owner_only(config_file: Path) -> None:
    load_config(config_file)
    assert _cache_of(config_file).stat().st_mode & 0o777 == 0o600
    assert _cache_of(config_file).parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    "content",
    [b"\x00not json", b"[]", b'{"key": "x"}', None],
    ids=["garbage", "not-a-mapping", "other-key", "wrong-shape"],
)
def test_a_corrupt_cache_file_is_ignored(config_file: Path, content: bytes | None) -> None:
    """Guards the fallback: whatever is in the cache file, the result is the validated config."""
    load_config(config_file)
    path = _cache_of(config_file)
    if content is None:  # the right key, a config that does not fit the models
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry["config"]["service"] = {"name": 3}
        content = json.dumps(entry).encode()
    path.write_bytes(content)
    assert load_config(config_file) == _validated(config_file)


def test_a_cache_file_others_may_write_is_ignored(config_file: Path) -> None:
    """Guards against a planted config: a cache file with group or world bits is not trusted."""
    load_config(config_file)
    _edit_cached_name(config_file, "planted")
    _cache_of(config_file).chmod(0o666)
    assert load_config(config_file).service.name == "hello"


def test_a_hit_imports_no_pydantic(config_file: Path) -> None:
    """Guards the import cost: the config types and a cache hit need no pydantic (it was ~90 ms of every
    command); before, importing the loader imported pydantic and built ~44 model classes."""
    load_config(config_file)  # a miss: validated, then cached
    code = (
        "import sys\nfrom bmad.config.loader import load_config\nloaded = 'pydantic' in sys.modules\n"
        f"config = load_config({str(config_file)!r})\nprint(loaded, 'pydantic' in sys.modules, config.service.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "hello"]


RICH = """\
version: 1
service: {name: shop, owner: team}
environments:
  staging:
    target:
      kind: kubernetes
      kubernetes: {namespace: shop, autoscaling: {enabled: true, load: {connections: 5}}, gitops_allowed_kinds: [Job]}
    monitoring: {prometheus_url: "http://127.0.0.1:9090/", grafana: {url: "http://g:3000", token: {env: GT}}}
    notifications:
      channels:
        - {name: ops, type: webhook, url: {env: HOOK}, signing_secret: {file: key.txt}}
  production:
    production: true
    target: {local: {replicas: 3, secret_env: {DB: {env: DB_URL}}, compose: {ports: {WEB: 18300}}}}
build:
  tags: ["{short_sha}"]
  suites:
    - {name: unit, command: [pytest], environment: {up: [[make, up]], waits: [{tcp: "127.0.0.1:5432"}]}}
  vulnerabilities: {ignore: [{id: CVE-1, reason: not reachable, expires: 2030-01-31}]}
measure:
  load_test: {levels: [2], environment_levels: {production: [1]}, duration_seconds: 3}
  baselines: [{name: cpu, query: up, no_data: skip}]
analyze:
  kubernetes_version: v1.29
  suppressions: [{check: "*", reason: accepted, expires: 2030-02-01, kind: Job}]
  min_readiness_percent: 90
deploy:
  verification: {criteria: [{name: errors, query: up, max: 1}]}
plugins: {build: my.module}
"""


def test_a_hit_of_a_rich_config_equals_its_validation(config_file: Path) -> None:
    """Guards the rebuild from JSON of every kind of field: dates, unions, dicts and lists of config types,
    values the validation normalised (URL, version) and defaults built by factories."""
    config_file.write_text(RICH, encoding="utf-8")
    validated = load_config(config_file)
    assert _cache_of(config_file).is_file()
    assert cached_config(cache_key(RICH)) is not None  # the JSON fits the types: a hit
    hit = load_config(config_file)
    assert hit == validated == _validated(config_file)
    assert hit.analyze.suppressions[0].expires.isoformat() == "2030-02-01"
    assert hit.analyze.kubernetes_version == "1.29"
    assert hit.environments["staging"].monitoring.prometheus_url == "http://127.0.0.1:9090"


MOVED = GOOD + "state_dir: state\nledger:\n  signing_key: {file: keys/ledger.key}\n"


def test_a_copy_of_the_service_elsewhere_is_a_hit_with_its_own_path(config_file: Path, tmp_path: Path) -> None:
    """Guards the content-addressed cache: a new checkout of the same bmad.yaml (a CI workspace) is
    answered from the cache, without pydantic, and the config belongs to the copy's path (its
    source_path, relative paths and secret files), not the first checkout's. Before, the cache file
    was named after the config's path, so every new checkout validated again with pydantic."""
    config_file.write_text(MOVED, encoding="utf-8")
    first = load_config(config_file)  # a miss: validated, then cached
    copy = tmp_path / "elsewhere" / "bmad.yaml"
    (copy.parent / "keys").mkdir(parents=True)
    (copy.parent / "keys" / "ledger.key").write_text("copy-key\n", encoding="utf-8")
    copy.write_bytes(config_file.read_bytes())
    code = (
        "import sys\nfrom bmad.config.loader import load_config\n"
        f"config = load_config({str(copy)!r})\n"
        "print('pydantic' in sys.modules, config.source_path, config.state_path,"
        " config.ledger.signing_key.resolve(config.base_dir))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", str(copy.resolve()), str(copy.parent.resolve() / "state"), "copy-key"]
    moved = load_config(copy)
    assert moved.source_path == str(copy.resolve()) != first.source_path
    assert moved == dataclasses.replace(first, source_path=moved.source_path) == _validated(copy)


def test_a_copy_with_one_changed_byte_is_validated(config_file: Path, tmp_path: Path) -> None:
    """Guards the key of the content-addressed cache: a copy that differs by one byte is validated in
    full and its mistake is reported at the copy's file:line."""
    load_config(config_file)
    copy = tmp_path / "elsewhere" / "bmad.yaml"
    copy.parent.mkdir()
    copy.write_text(GOOD.replace("levels: [1, 5]", "levels: [1, x]"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(copy)
    assert (caught.value.file, caught.value.line) == (str(copy), 12)


def test_the_cache_keeps_the_most_recently_used_configs(config_file: Path) -> None:
    """Guards the bound on the content-addressed cache (one file per config bytes ever loaded): beyond
    KEPT_CONFIGS files the least recently used one is removed, and a hit counts as a use."""
    files = []
    for number in range(KEPT_CONFIGS):
        config_file.write_text(GOOD.replace("name: hello", f"name: svc-{number}"), encoding="utf-8")
        load_config(config_file)
        files.append(_cache_of(config_file))
    for age, path in enumerate(files):  # distinct times, oldest first (a clock tick may hold several writes)
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    config_file.write_text(GOOD.replace("name: hello", "name: svc-0"), encoding="utf-8")
    assert load_config(config_file).service.name == "svc-0"  # a hit: now the most recently used
    config_file.write_text(GOOD.replace("name: hello", "name: one-more"), encoding="utf-8")
    load_config(config_file)
    kept = set(files[0].parent.glob("*.json"))
    assert len(kept) == KEPT_CONFIGS
    assert files[0] in kept and _cache_of(config_file) in kept
    assert files[1] not in kept
