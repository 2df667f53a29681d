"""Wiring for the BUILD phase: builds the adapters and hands them to the phase."""

from __future__ import annotations

from bmad.adapters.containers import DockerEngineImages, EngineConnection
from bmad.adapters.git_tag import GitReleaseTagger
from bmad.adapters.layer_secrets import DetectSecretsLayerScanner
from bmad.adapters.registry import RegistryClient, resolve_auth
from bmad.adapters.sbom import SyftSbomGenerator
from bmad.adapters.scanners import GrypeScanner, ReportFileScanner, TrivyScanner
from bmad.adapters.suite_envs import EngineTestEnvironments, SuiteCommandRunner
from bmad.phases.build import BuildPhase, BuildPorts
from bmad.ports.phase import PhaseContext, PhasePlugin
from bmad.ports.scanner import VulnerabilityScanner


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    config = ctx.config.build
    repo = ctx.config.repository_dir
    auth = resolve_auth(config.registry, config.push, base_dir=ctx.config.base_dir) if config.push.enabled else None
    connection = EngineConnection(ctx.options.docker_host)
    timeout = config.vulnerabilities.timeout_seconds
    scanners: dict[str, VulnerabilityScanner] = {
        "trivy": TrivyScanner(timeout=timeout),
        "grype": GrypeScanner(timeout=timeout),
    }
    if config.vulnerabilities.report:
        scanners["report"] = ReportFileScanner(repo / config.vulnerabilities.report)
    tagger = GitReleaseTagger(repo, evidence=ctx.evidence)
    ports = BuildPorts(
        images=DockerEngineImages(connection, auth=auth, tls_verify=config.push.tls_verify),
        registry=RegistryClient(config.registry, auth=auth),
        layer_secrets=DetectSecretsLayerScanner(),
        tagger=tagger,
        runner=SuiteCommandRunner(ctx.evidence),
        environments=EngineTestEnvironments(connection, evidence=ctx.evidence),
        scanners=scanners,
        sbom=SyftSbomGenerator(timeout=config.sbom.timeout_seconds),
        source_url=config.source_url or tagger.remote_url(config.git_tag.remote),
    )
    return BuildPhase(ports)
