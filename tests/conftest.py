"""Shared fixtures: real components on free ports in temp dirs, isolated git.

Session fixtures (each test session starts its own processes, so parallel pytest runs never
collide):

* ``stack``        -> ``bmad.stack.StackInfo`` (Podman API, registry, Prometheus, Pushgateway, Alertmanager)
* ``engine``       -> ``docker.DockerClient`` on the stack's Podman socket
* ``base_image``   -> tag of the local Python base image (built FROM scratch, cached)
* ``example_image``-> tag of the examples/hello image built on ``base_image`` (content-addressed tag)
* ``postgres_url`` -> ``postgresql://bmad:<pw>@127.0.0.1:PORT/bmad`` of a throw-away server

Function fixtures: ``postgres_db`` (a fresh database per test), ``git_repo`` (factory),
``hello_service`` (factory: the example service as a local process), and the autouse git
isolation. A missing program skips the tests that need it, except under CI (CI=true) where
it fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))  # so `from helpers import ...` works as well as `from tests.helpers import ...`

from tests.helpers import EXAMPLES, free_port, in_ci, run_hello  # noqa: E402

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bmad test",
    "GIT_AUTHOR_EMAIL": "bmad-test@example.invalid",
    "GIT_COMMITTER_NAME": "bmad test",
    "GIT_COMMITTER_EMAIL": "bmad-test@example.invalid",
}


def _unavailable(what: str, missing: Mapping[str, str]) -> None:
    reason = f"{what} needs programs that are not installed: " + ", ".join(
        f"{name} ({program})" for name, program in sorted(missing.items())
    )
    reason += " — run scripts/setup.sh"
    if in_ci():
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _load_example_module(name: str, path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- config cache isolation ------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _isolated_config_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The cache of validated configs (and any other user cache) goes to one folder of this session."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.delenv("BMAD_CACHE_DIR", raising=False)  # it would win over XDG_CACHE_HOME


# ---- git isolation ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the machine's git config; every test has the same fake identity."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=os.environ.copy()
    ).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``git_repo(name="repo", files={"a.txt": "x"}, commit=True, branch="main") -> Path``.

    Makes a repository under the test's tmp_path; with ``commit`` the files are committed
    ("initial commit"). Identity and config come from the isolated environment.
    """

    def make(
        name: str = "repo",
        files: Mapping[str, str | bytes] | None = None,
        *,
        commit: bool = True,
        branch: str = "main",
        message: str = "initial commit",
    ) -> Path:
        repo = tmp_path / name
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "-q", "-b", branch)
        for rel, content in (files or {"README.md": "# test repo\n"}).items():
            target = repo / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if commit:
            _git(repo, "add", "-A")
            _git(repo, "commit", "-q", "-m", message)
        return repo

    return make


# ---- the local stack -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local stack on free ports in a session temp dir; stopped at the end of the session.

    Prometheus starts with no scrape job but the Pushgateway and no rule file: use
    ``stack.set_scrape_targets({...})`` / ``stack.set_rule_files([...])`` (they replace the
    previous value; restore it when your test is done if other tests rely on it).
    """
    from bmad.stack import DEFAULT_COMPONENTS, StackPorts, missing_programs, up

    missing = missing_programs(DEFAULT_COMPONENTS)
    if missing:
        _unavailable("the local stack", missing)
    root = tmp_path_factory.mktemp("stack")
    ports = StackPorts(registry=free_port(), prometheus=free_port(), pushgateway=free_port(), alertmanager=free_port())
    info = None
    try:
        info = up(root, ports=ports, components=DEFAULT_COMPONENTS, scrape_targets={}, rule_files=[])
        yield info
    finally:
        if info is not None:
            info.down()
        else:
            from bmad.stack import down

            down(root)


@pytest.fixture(scope="session")
def engine(stack: Any) -> Iterator[Any]:
    """A ``docker.DockerClient`` on the stack's Podman socket (API 1.41)."""
    import docker

    client = docker.DockerClient(base_url=stack.docker_host, timeout=300)
    client.ping()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def base_image(engine: Any) -> str:
    """Tag of the local Python base image (``localhost/bmad-python-base:3.11``), built when missing."""
    builder = _load_example_module("bmad_example_build_base", EXAMPLES / "base" / "build_base.py")
    missing = [str(p) for p in (builder.PYTHON, builder.STDLIB, builder.BUSYBOX) if not p.exists()]
    if missing:
        _unavailable("the base image", {"base image": ", ".join(missing)})
    return str(builder.build_base_image(engine))


@pytest.fixture(scope="session")
def example_image(engine: Any, base_image: str) -> str:
    """Tag of the examples/hello image on ``base_image``: ``localhost/bmad-hello:test-<digest>``.

    The tag is content-addressed (Containerfile, app, base, version ``1.0.0-test``), so
    parallel sessions share one build. ``HELLO_VERSION`` inside is ``1.0.0-test``.
    """
    from docker.errors import ImageNotFound

    builder = _load_example_module("bmad_example_build_image", EXAMPLES / "hello" / "build_image.py")
    version = "1.0.0-test"
    tag = f"localhost/bmad-hello:test-{builder.context_digest(base_image, version)}"
    try:
        engine.images.get(tag)
    except ImageNotFound:
        builder.build_example_image(engine, base=base_image, tag=tag, version=version)
    return tag


# ---- PostgreSQL --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throw-away PostgreSQL server (database ``bmad``, user ``bmad``, password auth).

    The URL is libpq style (``postgresql://``); for SQLAlchemy with psycopg 3 use
    ``postgresql+psycopg://`` (replace the scheme). When ``BMAD_TEST_POSTGRES_URL`` is set
    (``.ci/run`` starts one server for the whole run), that server is used instead.
    """
    import tempfile

    from bmad.stack import StackPorts, missing_programs, up

    given = os.environ.get("BMAD_TEST_POSTGRES_URL")
    if given:
        yield given
        return

    missing = missing_programs(("postgres",))
    if missing:
        _unavailable("PostgreSQL", missing)
    with ExitStack() as cleanup:
        # Not under pytest's 0700 temp dir: as root the server runs as the 'postgres' user.
        root = Path(tempfile.mkdtemp(prefix="bmad-pg-stack-"))
        root.chmod(0o755)
        cleanup.callback(_rmtree, root)
        info = up(root, ports=StackPorts(postgres=free_port()), components=("postgres",))
        cleanup.callback(info.down, purge=True)
        yield info.postgres_url


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server for this test; dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    base, _, _ = postgres_url.rpartition("/")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ---- the example service as a process ------------------------------------------------------------
@pytest.fixture
def hello_service() -> Iterator[Callable[..., str]]:
    """Factory: ``hello_service(fault=None, version="1.0.0", **env) -> "http://127.0.0.1:PORT"``.

    Runs examples/hello/app/hello.py on a free port (ready before it returns); stopped after the test.
    """
    with ExitStack() as stack_:

        def start(fault: str | None = None, version: str = "1.0.0", **env: str) -> str:
            extra = {"HELLO_VERSION": version, **env}
            if fault:
                extra["HELLO_FAULT"] = fault
            url, _proc = stack_.enter_context(run_hello(env=extra))
            return str(url)

        yield start
