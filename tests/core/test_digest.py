"""bmad.core.digest: hashlib's SHA-256 digests, without loading OpenSSL for short texts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import pytest

from bmad.core.digest import SMALL_BYTES, sha256


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000, SMALL_BYTES, SMALL_BYTES + 1])
def test_the_digests_are_hashlibs(size: int) -> None:
    """Guards every key, chain and seal hashed through bmad.core.digest: same bytes as before."""
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    ours = sha256(data)
    ours.update(b"more")
    theirs = hashlib.sha256(data)
    theirs.update(b"more")
    assert (ours.hexdigest(), ours.digest()) == (theirs.hexdigest(), theirs.digest())


def test_a_short_text_is_hashed_without_loading_openssl() -> None:
    """Guards the import cost of every command: hashlib loads OpenSSL's _hashlib (~4 ms)."""
    script = textwrap.dedent(
        """
        import sys
        from bmad.core.digest import sha256
        print(sha256(b"abc").hexdigest(), "hashlib" in sys.modules, "_hashlib" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == [hashlib.sha256(b"abc").hexdigest(), "False", "False"]
