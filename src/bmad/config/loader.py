"""Load ``bmad.yaml`` with line tracking.

The YAML is composed into nodes first, so every value keeps the line and column it came
from; the plain data is then validated as the config types (:mod:`bmad.config.validate`, pydantic:
imported only when the cache of validated configs does not answer). Every problem — unreadable
file, YAML syntax, duplicate key, unknown key, wrong type — becomes a
:class:`~bmad.core.errors.ConfigError` naming file:line:column, the field path and what
was expected. Unknown keys get a "did you mean".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bmad.config.cache import cache_key, cached_config, store_config
from bmad.config.models import BmadConfig
from bmad.core.errors import ConfigError
from bmad.core.files import read_text_file


def load_config(path: str | Path) -> BmadConfig:
    """Read and validate a bmad.yaml file. Raises ConfigError on any problem."""
    file = Path(path)
    text = read_text_file(file, what="config file")
    key = cache_key(text)
    config = cached_config(key)
    if config is None:
        config = load_config_text(text, source=str(file))
        store_config(key, config)
    return dataclasses.replace(config, source_path=str(file.resolve()))


def load_config_text(text: str, *, source: str = "bmad.yaml") -> BmadConfig:
    # PyYAML and pydantic only when the cache did not answer
    from bmad.config.validate import ValidationError, validate
    from bmad.config.validation_errors import validation_to_config_error, yaml_type
    from bmad.config.yaml_marks import parse_yaml_with_marks

    data, marks = parse_yaml_with_marks(text, source=source)
    if data is None:
        raise ConfigError(
            "the file is empty: expected a mapping with at least 'service' and 'environments'",
            file=source,
            line=1,
            column=1,
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping at the top level, found {yaml_type(data)}", file=source, line=1, column=1
        )
    try:
        return validate(BmadConfig, data)
    except ValidationError as exc:
        raise validation_to_config_error(exc, marks, source=source, model=BmadConfig) from None
