"""The lowest ``kubernetes`` client pyproject.toml allows (29.0.0) really loads kubeconfigs.

bmad uses the package only to load a kubeconfig (certificate-authority-data, tokens, exec credential
plugins); its requests go through its own client. This test installs kubernetes==29.0.0 with its
dependencies from PyPI into a cached folder (``$TMPDIR/bmad-kubernetes-29.0.0``, about 40 s once,
then reused) and runs the kubeconfig tests with that folder first on ``sys.path``. It guards the
``kubernetes>=29`` floor: with ``ApiClient.param_serialize`` / ``call_api`` (37.0.0 only) back in the
code path, or a loader argument 29 lacks, it fails. Outside CI it is skipped when PyPI is unreachable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import in_ci

pytestmark = [pytest.mark.slow]

LOWEST = "29.0.0"
ROOT = Path(__file__).resolve().parents[4]
KUBECONFIG_TESTS = [
    "tests/adapters/targets/kubernetes/test_client_logic.py::test_missing_exec_plugin_names_the_plugin_and_what_to_install",
    "tests/adapters/targets/kubernetes/test_client_logic.py::test_failing_exec_plugin_is_named",
    "tests/adapters/targets/kubernetes/test_target_on_apiserver.py::test_namespace_limited_identity_deploys_without_cluster_rights",
    "tests/adapters/targets/kubernetes/test_target_on_apiserver.py::test_server_dry_run_uses_the_kubeconfig_contexts_namespace",
    "tests/adapters/targets/kubernetes/test_target_on_apiserver.py::test_forbidden_names_the_identity_and_the_right_as_kubectl_auth_can_i",
]


def _installed_client() -> Path:
    """The cached folder holding kubernetes==LOWEST and its dependencies (installed on first use)."""
    folder = Path(tempfile.gettempdir()) / f"bmad-kubernetes-{LOWEST}"
    if (folder / "kubernetes" / "__init__.py").exists():
        return folder
    partial = Path(tempfile.mkdtemp(prefix=f"bmad-kubernetes-{LOWEST}-"))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(partial), f"kubernetes=={LOWEST}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        message = f"pip could not install kubernetes=={LOWEST}: {done.stderr[-800:]}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        partial.rename(folder)
    except OSError:  # another run installed it first
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def test_kubeconfig_loading_works_with_the_lowest_supported_client() -> None:
    folder = _installed_client()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "src"), str(ROOT)])}
    version = subprocess.run(
        [sys.executable, "-c", "import kubernetes; print(kubernetes.__version__, kubernetes.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert version.stdout.split()[:1] == [LOWEST], version.stdout + version.stderr
    assert version.stdout.split()[1].startswith(str(folder)), version.stdout
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *KUBECONFIG_TESTS],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"{len(KUBECONFIG_TESTS)} passed" in run.stdout, run.stdout[-2000:]
