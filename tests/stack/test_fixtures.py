"""The shared fixtures themselves: PostgreSQL, git isolation, free ports."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import free_port


@pytest.mark.postgres
def test_postgres_url_is_a_real_server_with_password_auth(postgres_url: str) -> None:
    import psycopg

    assert postgres_url.startswith("postgresql://bmad:")
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("select current_user, current_database()").fetchone() == ("bmad", "bmad")
        assert conn.execute("show server_version_num").fetchone()[0] >= "150000"
    wrong = postgres_url.replace("postgresql://bmad:", "postgresql://bmad:wrong", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong).close()


@pytest.mark.postgres
def test_postgres_db_is_fresh_per_test(postgres_db: str) -> None:
    import psycopg

    with psycopg.connect(postgres_db) as conn:
        tables = conn.execute("select count(*) from information_schema.tables where table_schema='public'")
        assert tables.fetchone() == (0,)
        conn.execute("create table t (id int primary key)")
        conn.execute("insert into t values (1)")


def test_git_is_isolated_from_the_machine_config(git_repo: Callable[..., Path]) -> None:
    assert os.environ["GIT_CONFIG_GLOBAL"] == os.devnull
    repo = git_repo(files={"a.txt": "x\n"})
    log = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>|%cn|%s"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert log.stdout.strip() == "bmad test <bmad-test@example.invalid>|bmad test|initial commit"
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=repo, capture_output=True, text=True)
    assert branch.stdout.strip() == "main"
    user = subprocess.run(["git", "config", "user.name"], cwd=repo, capture_output=True, text=True)
    assert user.returncode == 1  # no user.name from any config file


def test_git_repo_without_commit(git_repo: Callable[..., Path]) -> None:
    repo = git_repo("empty", files={"b.txt": "y"}, commit=False)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True)
    assert status.stdout.strip() == "?? b.txt"


def test_free_port_is_bindable_and_not_repeated() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
    port = ports.pop()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
