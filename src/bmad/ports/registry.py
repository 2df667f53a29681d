"""Reading what a registry holds (OCI distribution API): the digest a tag points to."""

from __future__ import annotations

from typing import Protocol


class Registry(Protocol):
    address: str  # host[:port]

    def ping(self) -> None:
        """Raise Unreachable/AdapterError (temporary for 5xx) when the registry does not answer ``/v2/``."""
        ...

    def manifest_digest(self, repository: str, reference: str) -> str:
        """The ``sha256:...`` digest of the manifest ``reference`` (a tag) points to. Raises AdapterError."""
        ...
