"""``gpu:``: where the GPU checks find what a service asks for and where its GPU figures come from
(docs/gpu.md)."""

from bmad.config.base import Model, config_model, setting


@config_model
class GpuConfig(Model):
    compose: str | None = setting(
        default=None,
        description=(
            "the compose file whose services say whether a GPU is requested, relative to the repository; "
            "default: the first BUILD suite environment's compose file"
        ),
    )
    profiles: list[str] = setting(
        default=[], description="compose profiles enabled with gpu.compose (services without a profile always count)"
    )
    requested: bool = setting(
        default=False,
        description="the service asks for a GPU even where no compose file says so (e.g. Kubernetes nvidia.com/gpu)",
    )
    dcgm_selector: str = setting(
        default='job="dcgm"', description="label matchers of the DCGM exporter's series in Prometheus"
    )
    toolkit_version: str | None = setting(
        default=None,
        description=(
            "the NVIDIA Container Toolkit version the host must run (pinned, e.g. 1.17.8); "
            "default: any release that fixes every known advisory"
        ),
    )
    toolkit_config: str = setting(
        default="/etc/nvidia-container-runtime/config.toml",
        description="the NVIDIA Container Toolkit's runtime configuration (its mode: cdi or legacy)",
    )
