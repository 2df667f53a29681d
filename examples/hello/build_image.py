"""Build the example service image (examples/hello/Containerfile) through the Docker API.

    python examples/hello/build_image.py [--base localhost/bmad-python-base:3.11] [--tag localhost/bmad-hello:dev]

The local base image is built first when it is missing (examples/base/build_base.py), so
this works on a machine that cannot pull. Pass ``--base docker.io/library/python:3.11-slim``
where pulling is allowed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_TAG = "localhost/bmad-hello:dev"
CONTEXT_FILES = ("Containerfile", ".dockerignore", "app/hello.py", "app/healthcheck.py")


def context_digest(base: str, version: str) -> str:
    """A short digest of everything that goes into the image: a content-addressed tag."""
    digest = hashlib.sha256(f"{base}\n{version}\n".encode())
    for name in CONTEXT_FILES:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes())
    return digest.hexdigest()[:12]


def build_example_image(client: Any, *, base: str, tag: str = DEFAULT_TAG, version: str = "0.0.0-dev") -> str:
    """Build the hello image on ``base``; return ``tag``."""
    client.images.build(
        path=str(HERE),
        dockerfile="Containerfile",
        tag=tag,
        rm=True,
        pull=False,
        buildargs={"BASE": base, "HELLO_VERSION": version},
    )
    return tag


def _load_base_builder() -> Any:
    spec = importlib.util.spec_from_file_location("bmad_example_build_base", HERE.parent / "base" / "build_base.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the hello example image")
    parser.add_argument("--base", default=None, help="base image (default: build/reuse the local base)")
    parser.add_argument("--tag", default=DEFAULT_TAG)
    parser.add_argument("--version", default=os.environ.get("HELLO_VERSION", "0.0.0-dev"))
    parser.add_argument("--docker-host", default=os.environ.get("DOCKER_HOST"))
    args = parser.parse_args(argv)
    if not args.docker_host:
        print("error: no Docker API: pass --docker-host or set DOCKER_HOST (bmad stack up starts one)", file=sys.stderr)
        return 2
    import docker

    client = docker.DockerClient(base_url=args.docker_host, timeout=300)
    started = time.monotonic()
    base = args.base or _load_base_builder().build_base_image(client)
    tag = build_example_image(client, base=base, tag=args.tag, version=args.version)
    size = client.images.get(tag).attrs.get("Size", 0)
    print(f"{tag} (base {base}): {size / 1e6:.1f} MB ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
