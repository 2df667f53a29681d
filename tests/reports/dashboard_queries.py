"""Panel queries of the bundled Grafana dashboards with their variables set, as Grafana would send them."""

from __future__ import annotations

from typing import Any


def variable_values(model: dict[str, Any], job: str, *, option: int = 0) -> dict[str, str]:
    """Each variable's value: ``job`` for the job and the service, All (``.*``) for the environment, and the
    ``option``-th choice of a custom variable (0: prometheus_client names, 1: OpenTelemetry's)."""
    values: dict[str, str] = {"__rate_interval": "1m"}
    for variable in model.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable["type"] == "custom":
            values[name] = variable["options"][option]["value"]
        elif variable.get("includeAll"):
            values[name] = variable.get("allValue", ".*")
        elif variable["type"] != "datasource":
            values[name] = job
    return values


def expand(expr: str, model: dict[str, Any], job: str = "hello", *, option: int = 0) -> str:
    """``expr`` with every ``$name`` and ``${name}`` replaced (longest names first: $env is not $environment)."""
    values = variable_values(model, job, option=option)
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr
