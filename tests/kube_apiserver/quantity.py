"""Resource quantities ("Resource Management for Pods and Containers", meaning of CPU and memory:
https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/; the suffixes of
apimachinery's resource.Quantity): parsed to a Fraction of base units, printed back canonically."""

from __future__ import annotations

from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1)}
_DECIMAL.update({"k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12)})


def parse(text: object) -> Fraction:
    """``500m`` -> 1/2, ``128Mi`` -> 134217728, ``1e3`` -> 1000; ValueError for anything else."""
    value = str(text).strip()
    for suffix, factor in _BINARY.items():
        if value.endswith(suffix):
            return Fraction(value[: -len(suffix)]) * factor
    if value and value[-1] in _DECIMAL and not value[-1].isdigit():
        return Fraction(value[:-1]) * _DECIMAL[value[-1]]
    return Fraction(value)


def canonical(amount: Fraction, resource: str) -> str:
    """As the API server prints a quantity: CPU in cores or millicores, bytes with a binary suffix
    when they divide evenly (``1``, ``150m``, ``128Mi``, ``2Gi``)."""
    if amount.denominator != 1:
        return f"{round(amount * 1000)}m"
    whole = int(amount)
    if resource.endswith(("memory", "storage")) and whole:
        for suffix, factor in reversed(_BINARY.items()):
            if whole % factor == 0:
                return f"{whole // factor}{suffix}"
    return str(whole)
