"""Reading what a registry holds (OCI distribution API): the manifest a tag points to."""

from __future__ import annotations

from typing import Protocol

from bmad.core.datatypes import datatype


@datatype(frozen=True)
class ManifestInfo:
    """The manifest a tag points to in a registry: the digest a deployment pins, and the image's."""

    digest: str  # sha256:... of the manifest as stored (what a deployment pins)
    media_type: str
    config_digest: str | None  # the image config's digest (= the engine's image id); None for an index
    layers: int


class Registry(Protocol):
    address: str  # host[:port]

    def ping(self) -> None:
        """Raise Unreachable/AdapterError (temporary for 5xx) when the registry does not answer ``/v2/``."""
        ...

    def manifest(self, repository: str, reference: str) -> ManifestInfo:
        """The manifest ``reference`` (a tag or digest) points to. Raises AdapterError."""
        ...
