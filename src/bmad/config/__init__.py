"""``bmad.yaml``: its config types (frozen dataclasses, validated by pydantic on a cache miss) and a
loader that names file:line:column for every error."""

from bmad.config.loader import load_config, load_config_text
from bmad.config.models import BmadConfig, EnvironmentConfig

__all__ = ["BmadConfig", "EnvironmentConfig", "load_config", "load_config_text"]
