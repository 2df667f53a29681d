"""Heavy client libraries load only when there is work for them (each costs a user's wait)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bmad.adapters.engine_client import _CANDIDATE_SOCKETS


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    """The top-level modules a fresh interpreter holds after running ``code``."""
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return set(proc.stdout.split())


def test_no_engine_means_no_docker_sdk_import() -> None:
    """Guards the analyze latency fix: with no engine to ask, reading the live state failed only
    after importing the Docker SDK (about 0.25 s of every `bmad analyze` without an engine)."""
    if any(Path(socket).exists() for socket in _CANDIDATE_SOCKETS):
        pytest.skip("a Docker or Podman socket exists on this machine")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    loaded = _modules_after(
        """
        from bmad.adapters.targets.local.containers import EngineContainers
        from bmad.config.deploy import LocalTargetConfig
        from bmad.core.errors import Unreachable
        try:
            EngineContainers(LocalTargetConfig()).read_state("svc", "dev")
        except Unreachable:
            pass
        else:
            raise SystemExit("expected Unreachable")
        """,
        env,
    )
    assert "docker" not in loaded


def test_bundled_schemas_found_without_importing_kubernetes_validate() -> None:
    """Guards the analyze latency fix: finding the bundled schema folder imported
    kubernetes_validate, which loads jsonschema (about 0.1 s) that a valid bundle never uses."""
    loaded = _modules_after(
        """
        from bmad.adapters.kube_validate import bundled_schema_root
        assert bundled_schema_root().is_dir()
        """,
        dict(os.environ),
    )
    assert "kubernetes_validate" not in loaded
    assert "jsonschema" not in loaded


def test_an_http_adapter_imports_requests_at_its_first_request_only() -> None:
    """Guards the own share of a run: BUILD's wiring made a registry client, whose HTTP session imported
    ``requests`` (~60 ms) at BUILD's start, before any wait; the first request imports it now."""
    loaded = _modules_after(
        """
        from bmad.adapters.registry import RegistryClient
        from bmad.adapters.prometheus import PrometheusClient
        RegistryClient("127.0.0.1:5000").close()
        PrometheusClient("http://127.0.0.1:9090")
        """,
        dict(os.environ),
    )
    assert "requests" not in loaded and "urllib3" not in loaded


def _full_modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module (dotted names) a fresh interpreter holds after running ``code``."""
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return set(proc.stdout.split())


@pytest.mark.parametrize(
    ("imports", "not_loaded"),
    [
        # OpenSSL (hashlib, hmac: ~4 ms): the keys, chains and seals of every command are short
        # texts that CPython's own SHA-256 hashes (bmad.core.digest)
        (
            "bmad.config.loader, bmad.engine.records, bmad.ledger.content, bmad.ledger.hashing,"
            " bmad.phases.analyze.catalog.compiled, bmad.adapters.kube_validate, bmad.adapters.own_metrics,"
            " bmad.adapters.targets.local.state, bmad.adapters.renderers.fingerprint",
            {"hashlib", "_hashlib", "hmac"},
        ),
        # statistics (with fractions and decimal, ~5 ms): only a rollback plan with earlier deployments
        ("bmad.phases.analyze.rollback", {"statistics", "fractions", "decimal"}),
        # importlib.resources (~2 ms): only reading the NVIDIA toolkit advisories
        ("bmad.adapters.gpu_host", {"importlib.resources"}),
    ],
)
def test_every_analyze_and_measure_leaves_these_unloaded(imports: str, not_loaded: set[str]) -> None:
    """Guards the import cost of `bmad analyze` and `bmad measure`: each of these was imported by
    every run of both (or of every ANALYZE) and is needed only on rare paths."""
    assert not (_full_modules_after(f"import {imports}") & not_loaded)


def test_a_bundle_that_does_not_render_loads_no_renderer(tmp_path: Path) -> None:
    """Guards the import cost of `bmad analyze`: the kustomize/Helm renderers (~2 ms) were imported
    before finding that the environment's bundle is not rendered."""
    loaded = _full_modules_after(
        f"""
        from bmad.config.loader import load_config
        from bmad.engine.wiring.bundle_source import render_bundle
        config = load_config({str(Path(__file__).parents[2] / "examples" / "hello" / "bmad.yaml")!r})
        assert render_bundle(config, "dev") is None
        """,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert not {m for m in loaded if m.startswith("bmad.adapters.renderers")}
