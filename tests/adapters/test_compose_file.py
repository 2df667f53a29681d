"""A user's compose file is checked before a Compose implementation runs it: one error at file:line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmad.adapters.compose_file import load_compose_file
from bmad.core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compose.yml"
    path.write_text(text)
    return path


def test_volumes_networks_profiles_and_env_files_are_accepted(tmp_path: Path) -> None:
    """Guards the end of the minimal runner, which refused volumes, networks, profiles and env files."""
    compose = load_compose_file(
        _write(
            tmp_path,
            "services:\n"
            "  db:\n    image: x\n    volumes: [data:/data]\n    networks: [back]\n"
            "    healthcheck: {test: [CMD, /bin/true]}\n"
            "  web:\n    build: .\n    env_file: [app.env]\n    networks: [back]\n"
            "    depends_on: {db: {condition: service_healthy}}\n"
            "  debug:\n    image: x\n    profiles: [debug]\n"
            "volumes: {data: {}}\nnetworks: {back: {}}\nx-note: free\n",
        )
    )
    assert [s.name for s in compose.active()] == ["db", "web"]
    assert [s.name for s in compose.active(("debug",))] == ["db", "web", "debug"]
    assert [[s.name for s in wave] for wave in compose.waves()] == [["db"], ["web"]]
    web = compose.services[1]
    assert web.builds and web.depends_on[0].condition == "service_healthy"
    assert compose.services[0].healthcheck == {"test": ["CMD", "/bin/true"]}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("services:\n  web:\n    image: x\n    volumez: [a:/b]\n", 4, "'volumez' is not a Compose service key"),
        (
            "services:\n  web:\n    image: x\n    develop: {watch: []}\n",
            4,
            "not supported by the Compose implementation",
        ),
        ("services:\n  web:\n    image: x\nvolums: {}\n", 4, "'volums' is not a Compose top-level key"),
        ("services:\n  web:\n    ports: ['1:1']\n", 2, "needs 'image' or 'build'"),
        ("services:\n  web:\n    image: x\n    depends_on: [db]\n", 2, "depends on 'db'"),
        ("services:\n  web:\n    image: x\n    depends_on: {db: {condition: up}}\n  db: {image: y}\n", 2, "condition"),
        ("services:\n  web:\n    image: [x\n", 4, "invalid YAML"),
        ("version: '3'\n", 1, "non-empty 'services'"),
        # a text was read letter by letter (profiles "d", "e", "b" ...); a number raised TypeError
        ("services:\n  web:\n    image: x\n    profiles: debug\n", 2, "profiles must be a list of names"),
        ("services:\n  web:\n    image: x\n    profiles: 1.5\n", 2, "profiles must be a list of names"),
    ],
)
def test_a_bad_file_is_one_error_at_its_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_compose_file(path)
    assert error.value.line == line and reason in error.value.reason
    assert str(error.value).startswith(f"{path}:{line}")


def test_a_dependency_cycle_is_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n"
    )
    with pytest.raises(ConfigError, match="cycle among a, b") as error:
        load_compose_file(path).waves()
    assert error.value.line == 2


def test_the_runner_passes_profiles_overrides_and_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the suite's ``profiles`` setting and the engine reaching the Compose CLI (podman as a
    remote client of the API socket bmad uses, through CONTAINER_HOST)."""
    from bmad.adapters.compose_cli import ComposeProject, write_label_override

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    override = write_label_override(tmp_path, ["web"], {"bmad.env": "p-1"})
    project = ComposeProject(
        "p-1", tmp_path / "compose.yml", "unix:///run/x.sock", profiles=("debug",), override_files=(override,)
    )
    argv = project.argv("up", "-d")
    assert argv[-10:] == [
        "-p",
        "p-1",
        "-f",
        str(tmp_path / "compose.yml"),
        "-f",
        str(override),
        "--profile",
        "debug",
        "up",
        "-d",
    ]
    assert project.environment() == {"DOCKER_HOST": "unix:///run/x.sock", "CONTAINER_HOST": "unix:///run/x.sock"}
    assert '"bmad.env.service": "web"' in override.read_text()
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/y.sock")
    assert ComposeProject("p", tmp_path / "c.yml").environment()["CONTAINER_HOST"] == "unix:///run/y.sock"


@pytest.mark.timeout(60)
def test_a_compose_file_that_is_a_device_or_an_unwritten_fifo_is_refused_at_once(tmp_path: Path) -> None:
    """Before, ``path.read_text()`` read /dev/zero without end and waited forever on a FIFO's open."""
    fifo = tmp_path / "compose.yml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="a compose file needs a non-empty 'services' mapping"):
        load_compose_file(fifo)
    with pytest.raises(ConfigError, match="compose file is not read: it is a device or socket, not a file"):
        load_compose_file(Path("/dev/zero"))
