"""The kubeconfig the stand-in writes: its CA inline, one user and one context per identity.

Format as "Organizing Cluster Access Using kubeconfig Files"
(https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/).
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from .authz import Identity


def write_kubeconfig(path: Path, port: int, ca_pem: bytes, identities: list[Identity], namespace: str) -> None:
    cluster = {
        "name": "stand-in",
        "cluster": {
            "server": f"https://127.0.0.1:{port}",
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        },
    }
    users = [{"name": i.context, "user": {"token": i.token}} for i in identities]
    contexts = [
        {
            "name": i.context,
            "context": {
                "cluster": "stand-in",
                "user": i.context,
                **({"namespace": namespace} if i.context in ("ci", "deployer") else {}),
            },
        }
        for i in identities
    ]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": users,
        "contexts": contexts,
        "current-context": "admin",
        "preferences": {},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
