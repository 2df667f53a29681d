"""Two owners refused: bmad applies a rendered chart itself and writes no Helm release, so a namespace
that already holds a Helm release of the same name (``sh.helm.release.v1.<name>.v<N>`` Secrets) would
have its objects changed behind Helm's back; the deploy stops before applying anything."""

from __future__ import annotations

from bmad.core.errors import AdapterError

from .client import SYSTEM, KubeApi

RELEASE_SECRET_PREFIX = "sh.helm.release.v1."  # noqa: S105 - a name prefix, not a password


def helm_release_secrets(api: KubeApi, namespace: str, release: str) -> list[str]:
    """The names of the Secrets in which Helm keeps the revisions of ``release`` in ``namespace``."""
    prefix = f"{RELEASE_SECRET_PREFIX}{release}.v"
    items = api.list_objects("v1", "Secret", namespace, selector=f"owner=helm,name={release}")
    names = (str((item.get("metadata") or {}).get("name") or "") for item in items)
    return sorted(name for name in names if name.startswith(prefix))


def refuse_helm_owner(api: KubeApi, namespace: str, release: str) -> str | None:
    """Raise when ``namespace`` holds a Helm release named ``release``; a note when Secrets may not be
    listed (403: the deploy goes on, the note says the check could not be made)."""
    try:
        found = helm_release_secrets(api, namespace, release)
    except AdapterError as exc:
        if exc.status != 403:
            raise
        return f"could not check for a Helm release {release!r} in {namespace} (listing Secrets refused)"
    if found:
        raise AdapterError(
            SYSTEM,
            "checking for a Helm release of the same name",
            f"namespace {namespace} already holds Helm release {release!r} ({found[-1]}): "
            "Helm and bmad would both own its objects",
            hint=f"remove it with `helm uninstall {release} -n {namespace}` (or deploy under another "
            "source.helm.release or namespace); bmad renders the chart and applies it without a Helm release",
        )
    return None
