"""Build a small Python base image FROM scratch out of the host's Debian Python (no pull needed).

The rootfs holds /usr/bin/python3.11, the shared libraries ``ldd`` lists for it and for the
extension modules kept, the standard library without tests, IDLE, tkinter, ensurepip and
byte-code caches, and a static busybox for /bin/sh. It is written as one tar file and added
to an empty image, through the Docker API (Podman's compatible service works).

The build is skipped when the tag exists and carries the same input fingerprint (label
``org.bmad.base.inputs``), so repeated calls cost a few milliseconds.

    python examples/base/build_base.py [--tag localhost/bmad-python-base:3.11] [--docker-host unix://...] [--force]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_TAG = "localhost/bmad-python-base:3.11"
PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
BUSYBOX = Path("/bin/busybox")
FINGERPRINT_LABEL = "org.bmad.base.inputs"
BUILDER_VERSION = "2"

# Parts of the standard library a service image does not need.
SKIP_DIRS = {
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "pydoc_data",
    "__pycache__",
    "config-3.11-x86_64-linux-gnu",
}
SKIP_FILES = re.compile(
    r"^(turtle\.py|_test.*\.so|_ctypes_test.*|_xxtestfuzz.*|xxlimited.*|_curses.*|readline\..*|"
    r"_dbm\..*|nis\..*|ossaudiodev\..*|_tkinter.*)$"
)
EXTRA_LIBS = (Path("/lib/x86_64-linux-gnu/libgcc_s.so.1"),)
BUSYBOX_APPLETS = (
    "sh",
    "ls",
    "cat",
    "env",
    "id",
    "echo",
    "ps",
    "sleep",
    "wget",
    "mkdir",
    "rm",
    "grep",
    "true",
    "false",
)

CONTAINERFILE = """\
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/bin:/usr/bin:/bin \\
    LANG=C.UTF-8 \\
    PYTHONDONTWRITEBYTECODE=1
CMD ["python3"]
"""


def stdlib_files() -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(STDLIB):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if SKIP_FILES.match(name) or name.endswith((".pyc", ".exe")):
                continue
            files.append(Path(dirpath) / name)
    return files


def shared_libraries(binaries: list[Path]) -> set[Path]:
    """Every library the dynamic loader would map for ``binaries`` (ldd), including the loader."""
    libs: set[Path] = set()
    for chunk in range(0, len(binaries), 50):
        argv = ["ldd", *[str(b) for b in binaries[chunk : chunk + 50]]]
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            match = re.search(r"(/\S+) \(0x", line)
            if match:
                libs.add(Path(match.group(1)))
    return libs


def fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256(BUILDER_VERSION.encode() + CONTAINERFILE.encode())
    for path in [PYTHON, BUSYBOX, *files]:
        st = path.stat()
        digest.update(f"{path}:{st.st_size}:{int(st.st_mtime)}\n".encode())
    return digest.hexdigest()[:24]


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, source: Path) -> None:
    real = source.resolve()
    info = tarfile.TarInfo(name)
    st = real.stat()
    info.size = st.st_size
    info.mode = st.st_mode & 0o777
    info.mtime = int(st.st_mtime)
    with real.open("rb") as handle:
        tar.addfile(info, handle)


def _add_text(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _lib_target(lib: Path) -> str:
    """Where a library goes in the rootfs: merged /usr like Debian 12 (/lib -> usr/lib)."""
    text = str(lib)
    if text.startswith("/lib64/"):
        return "lib64/" + lib.name
    if text.startswith("/lib/"):
        return "usr/lib/" + text[len("/lib/") :]
    return text.lstrip("/")


def write_rootfs(tar_path: Path, files: list[Path]) -> None:
    dynload = [f for f in files if f.suffix == ".so"]
    libs = shared_libraries([PYTHON, *dynload])
    # dlopen()ed by glibc, so ldd does not list it: thread exit (pthread_exit) needs it.
    libs |= {p for p in EXTRA_LIBS if p.exists()}
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for directory in (
            "bin",
            "etc",
            "usr",
            "usr/bin",
            "usr/lib",
            "usr/lib/x86_64-linux-gnu",
            "usr/local",
            "usr/local/bin",
            "lib64",
            "app",
            "home",
            "home/app",
        ):
            _add_dir(tar, directory)
        _add_dir(tar, "tmp", 0o1777)
        _add_link(tar, "lib", "usr/lib")
        targets = {_lib_target(lib): lib for lib in sorted(libs)}
        for target, lib in sorted(targets.items()):
            _add_file(tar, target, lib)
        _add_file(tar, "usr/bin/python3.11", PYTHON)
        _add_link(tar, "usr/bin/python3", "python3.11")
        _add_link(tar, "usr/bin/python", "python3.11")
        seen_dirs: set[str] = set()
        for path in files:
            rel = str(path.relative_to("/"))
            parent = str(Path(rel).parent)
            parts = Path(parent).parts
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in seen_dirs and sub not in ("usr", "usr/lib"):
                    seen_dirs.add(sub)
                    _add_dir(tar, sub)
            _add_file(tar, rel, path)
        _add_file(tar, "bin/busybox", BUSYBOX)
        for applet in BUSYBOX_APPLETS:
            _add_link(tar, f"bin/{applet}", "busybox")
        _add_text(
            tar,
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/home/app:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        _add_text(tar, "etc/group", "root:x:0:\napp:x:10001:\nnogroup:x:65534:\n")
        _add_text(tar, "etc/os-release", 'NAME="bmad python base"\nID=bmad-python-base\nVERSION_ID="3.11"\n')


@contextlib.contextmanager
def _build_lock(tag: str) -> Iterator[None]:
    """Serialise builds of one tag across processes (parallel test sessions share the image store)."""
    name = hashlib.sha256(tag.encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"bmad-image-build-{name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_base_image(client: Any, *, tag: str = DEFAULT_TAG, force: bool = False) -> str:
    """Build (or reuse) the base image through a ``docker.DockerClient``; return its tag."""
    from docker.errors import ImageNotFound

    for path in (PYTHON, STDLIB, BUSYBOX):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: install python3.11 and busybox-static (scripts/setup.sh)")
    files = stdlib_files()
    inputs = fingerprint(files)
    with _build_lock(tag):
        if not force:
            try:
                image = client.images.get(tag)
            except ImageNotFound:
                image = None
            if image is not None and (image.labels or {}).get(FINGERPRINT_LABEL) == inputs:
                return tag
        with tempfile.TemporaryDirectory(prefix="bmad-base-") as ctx:
            ctx_path = Path(ctx)
            (ctx_path / "Containerfile").write_text(CONTAINERFILE, encoding="utf-8")
            write_rootfs(ctx_path / "rootfs.tar", files)
            client.images.build(
                path=ctx,
                dockerfile="Containerfile",
                tag=tag,
                rm=True,
                pull=False,
                labels={
                    FINGERPRINT_LABEL: inputs,
                    "org.opencontainers.image.title": "bmad-python-base",
                    "org.opencontainers.image.description": "Debian python3.11 + stdlib + busybox, FROM scratch",
                },
            )
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=DEFAULT_TAG)
    parser.add_argument("--docker-host", default=os.environ.get("DOCKER_HOST"))
    parser.add_argument("--force", action="store_true", help="build even when the tag is up to date")
    args = parser.parse_args(argv)
    import docker

    if not args.docker_host:
        print("error: no Docker API: pass --docker-host or set DOCKER_HOST (bmad stack up starts one)", file=sys.stderr)
        return 2
    client = docker.DockerClient(base_url=args.docker_host, timeout=300)
    started = time.monotonic()
    tag = build_base_image(client, tag=args.tag, force=args.force)
    size = client.images.get(tag).attrs.get("Size", 0)
    print(f"{tag}: {size / 1e6:.1f} MB ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
