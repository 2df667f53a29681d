"""Which version MEASURE's load test sweeps, and where: a preview of the release candidate
(``measure.load_test.target: candidate``, the default) or the release serving the environment now
(``serving``).

The candidate answers at ``monitoring.preview_url`` when one is configured, else in a temporary
container the local target starts (:class:`~bmad.ports.preview.CandidatePreview`). Where neither is
possible (a Kubernetes target without ``preview_url``, no digest from BUILD) the serving release is
loaded, and a production environment's serving release only with levels set for it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bmad.config.measure import LoadTestConfig
from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, PhaseName
from bmad.phases.measure.service import deployed, service_urls
from bmad.phases.measure.sweep import check_allowed, request_url
from bmad.ports.artifacts import BuildArtifacts
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.preview import CandidateImage

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CANDIDATE = "candidate"
SERVING = "serving"


@datatype(frozen=True)
class SweepTarget:
    """Where the sweep sends its requests, where that URL came from, and which version answers there."""

    url: str  # the request path until a preview is started (see ``preview``)
    replicas: tuple[str, ...]  # the same request at the service's further replicas
    source: str
    loaded: str  # which version the sweep loads, in words
    config: LoadTestConfig  # the sweep's settings, with this environment's levels
    version: str = SERVING  # candidate or serving
    preview: CandidateImage | None = None  # start a preview of this image first, then load it
    note: str = ""  # why the serving release is loaded though the candidate was asked for

    def at(self, base_url: str) -> SweepTarget:
        """The target once its preview answers at ``base_url``."""
        return dataclasses.replace(self, url=request_url(base_url, self.url))


def choose_target(ctx: PhaseContext, ports: MeasurePorts, check: CheckId) -> SweepTarget | CheckResult:
    """Where to send the load, or why not to: disabled, no URL, a host not allowed, nothing deployed yet."""
    conf = ctx.config.measure.load_test
    if not conf.enabled:
        return check.skipped("disabled (measure.load_test.enabled)")
    if not ctx.options.load_test:
        return check.skipped("disabled for this run (--set load_test=false)")
    note = ""
    if conf.environment_targets.get(ctx.environment_name, conf.target) == CANDIDATE and "://" not in conf.request.url:
        candidate = _candidate(ctx, ports, conf)
        if isinstance(candidate, SweepTarget):
            return candidate
        note = candidate
    serving = _serving(ctx, ports, conf, check)
    return dataclasses.replace(serving, note=note) if isinstance(serving, SweepTarget) else serving


def candidate_image(ctx: PhaseContext) -> CandidateImage | None:
    """The image of this release pinned by digest: the run's ``--image``/``--digest``, else BUILD's push."""
    built = BuildArtifacts.of(ctx.previous, PhaseName.BUILD) or BuildArtifacts()
    repository = ctx.options.image or built.image or ""
    digest = ctx.options.digest or built.image_digest or ""
    if "@" in repository:
        repository, _, pinned = repository.partition("@")
        digest = digest or pinned
    return CandidateImage(repository, digest) if repository and digest else None


def _candidate(ctx: PhaseContext, ports: MeasurePorts, conf: LoadTestConfig) -> SweepTarget | str:
    """The candidate's preview, or why there is none."""
    env = ctx.environment_name
    levels = dataclasses.replace(conf, levels=conf.environment_levels.get(env, conf.levels))
    image = candidate_image(ctx)
    what = image.pinned if image else f"release {ctx.release.short_version}"
    preview_url = ctx.environment.monitoring.preview_url
    if preview_url:
        url = request_url(preview_url, conf.request.url)
        source = f"environments.{env}.monitoring.preview_url"
        return SweepTarget(url, (), source, f"{what} (candidate preview at {preview_url})", levels, CANDIDATE)
    if ports.candidate_preview is None:
        return (
            f"the {ctx.environment.target.kind} target starts no preview of the candidate: set "
            f"environments.{env}.monitoring.preview_url to load it"
        )
    if image is None:
        return "no image digest of this release to preview (BUILD's push, or --image/--digest)"
    source = "a temporary container of the candidate on the local target's engine"
    return SweepTarget(conf.request.url, (), source, f"{what} (candidate preview)", levels, CANDIDATE, image)


def _serving(ctx: PhaseContext, ports: MeasurePorts, conf: LoadTestConfig, check: CheckId) -> SweepTarget | CheckResult:
    """The release serving the environment now (or whatever answers at an absolute request URL)."""
    urls, source = service_urls(ctx, ports)
    absolute = "://" in conf.request.url
    if not absolute and not urls:
        return check.skipped(f"no URL to load-test: {source}")
    url = request_url(urls[0] if urls else None, conf.request.url)
    replicas = () if absolute else tuple(request_url(u, conf.request.url) for u in urls[1:])
    refused = check_allowed(url, service_urls=urls, allowed_hosts=conf.allowed_hosts)
    if refused:
        return check.failed(
            refused,
            expected="the service's own URL or a host in measure.load_test.allowed_hosts",
            observed=url,
            fix="load-test only the service; to allow another host add it to measure.load_test.allowed_hosts",
            evidence={"url": url, "service_urls": urls, "allowed_hosts": list(conf.allowed_hosts)},
        )
    if not absolute and not deployed(ctx):
        return check.skipped(
            f"nothing is deployed in {ctx.environment_name!r} yet (first release): no running service to "
            "load-test; the sweep runs from the next release on",
            evidence={"url": url, "url_from": source},
        )
    target = SweepTarget(url, replicas, source, _serving_words(ctx, url, absolute), conf)
    return _with_levels(ctx, conf, target, absolute, check)


def _serving_words(ctx: PhaseContext, url: str, absolute: bool) -> str:
    """Which version answers at ``url``: the release serving the environment now (not this run's candidate)."""
    last = ctx.history.last_deployed()
    if absolute or last is None:
        return f"whatever answers at {url} (measure.load_test.request.url)"
    return (
        f"release {last.release.short_version}, serving {ctx.environment_name!r} now "
        f"(this run's candidate {ctx.release.short_version} is not deployed yet)"
    )


def _with_levels(
    ctx: PhaseContext, conf: LoadTestConfig, target: SweepTarget, absolute: bool, check: CheckId
) -> SweepTarget | CheckResult:
    """This environment's levels; a production environment's serving release is loaded only with levels set for it."""
    env = ctx.environment_name
    levels = conf.environment_levels.get(env)
    if levels is not None:
        return dataclasses.replace(target, config=dataclasses.replace(conf, levels=levels))
    if ctx.environment.production and not absolute:
        return check.skipped(
            f"not run: the sweep would load {target.loaded} with {conf.levels} connections; set "
            f"measure.load_test.environment_levels.{env} to levels this environment can take, or point "
            f"environments.{env}.monitoring.preview_url at a preview of the candidate",
            evidence={"url": target.url, "url_from": target.source, "loaded": target.loaded},
        )
    return target
