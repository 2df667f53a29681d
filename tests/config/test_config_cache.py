"""The cache of validated configs: a hit equals a validation, any change validates again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bmad.config.cache import cache_file
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
    return load_config_text(file.read_text(encoding="utf-8"), source=str(file)).model_copy(
        update={"source_path": str(file.resolve())}
    )


def _edit_cached_name(file: Path, name: str) -> None:
    entry = json.loads(cache_file(file).read_text(encoding="utf-8"))
    entry["config"]["service"]["name"] = name
    cache_file(file).write_text(json.dumps(entry), encoding="utf-8")


def test_a_hit_gives_the_validated_config(config_file: Path) -> None:
    """Guards the rebuild from JSON: nested models, dicts of models, unions and floats come back equal."""
    first = load_config(config_file)
    assert cache_file(config_file).is_file()
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
    assert cache_file(config_file).stat().st_mode & 0o777 == 0o600
    assert cache_file(config_file).parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    "content",
    [b"\x00not json", b"[]", b'{"key": "x"}', None],
    ids=["garbage", "not-a-mapping", "other-key", "wrong-shape"],
)
def test_a_corrupt_cache_file_is_ignored(config_file: Path, content: bytes | None) -> None:
    """Guards the fallback: whatever is in the cache file, the result is the validated config."""
    load_config(config_file)
    path = cache_file(config_file)
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
    cache_file(config_file).chmod(0o666)
    assert load_config(config_file).service.name == "hello"


def test_importing_the_models_builds_no_schema() -> None:
    """Guards the import cost: model defaults are factories, so no schema is built before a validation."""
    code = "import bmad.config.models as m; print(m.BmadConfig.__pydantic_complete__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
