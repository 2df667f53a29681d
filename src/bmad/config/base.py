"""Shared base for every config model: unknown keys are errors, values are validated strictly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bmad.core.errors import ConfigError
from bmad.core.redact import register_secret


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @field_validator("*")
    @classmethod
    def _ranges_by_name(cls, value: Any, info: ValidationInfo) -> Any:
        """Ports are 1-65535 and timeouts positive, wherever they are (refused at load, with file:line)."""
        name = info.field_name or ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            if (name == "port" or name.endswith("_port")) and not 1 <= value <= 65535:
                raise ValueError("a port is between 1 and 65535")
            if "timeout" in name and name.endswith("_seconds") and not value > 0:
                raise ValueError("a timeout is more than 0 seconds")
        return value

    @classmethod
    def help(cls, name: str) -> str:
        """The description of field ``name``: what ``bmad init`` writes beside it in the starter file."""
        description = cls.model_fields[name].description
        if not description:
            raise KeyError(f"{cls.__name__}.{name} has no description")
        return description


class SecretRef(Model):
    """Where a secret lives. The value itself is never written in ``bmad.yaml``.

    Exactly one of ``env`` (an environment variable name) or ``file`` (a path, relative to
    the config file) is given. :meth:`resolve` reads the value and registers it for redaction.
    """

    env: str | None = Field(default=None, description="the environment variable holding the secret")
    file: str | None = Field(default=None, description="the file holding the secret, relative to bmad.yaml")

    @model_validator(mode="before")
    @classmethod
    def _refuse_literal_values(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError(
                "secret values are never written in bmad.yaml: use a reference such as "
                "{env: NAME} or {file: path/to/file}"
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env else f"file:{self.file}"

    def resolve(self, base_dir: Path | None = None) -> str:
        """Read the secret value; raise ConfigError naming the reference (never the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(
                    f"secret reference env:{self.env} is not set",
                    hint=f"export {self.env}=... in the environment that runs bmad",
                )
        else:
            assert self.file is not None
            path = Path(self.file)
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"secret reference file:{self.file} cannot be read ({exc.strerror})") from None
        register_secret(value)
        return value
