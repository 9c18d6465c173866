"""Canonical form of Kubernetes resource quantities.

The API server stores every quantity in canonical form ("0.5" -> "500m", 1 -> "1",
"1.5Gi" -> "1536Mi"). A hook that returns the user's spelling shows a diff against the stored
object on every sync, and Metacontroller would update the child forever; so children carry
the canonical spelling. This follows k8s.io/apimachinery/pkg/api/resource (Quantity.String).
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

_QUANTITY = re.compile(
    r"^(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<bin>[KMGTPE]i)|(?P<exp>[eE][+-]?\d+)|(?P<dec>[numkMGTPE]?))$"
)
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_SI_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL_SI.items()}
_BINARY_SI = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_BIN_SUFFIX = {0: "", **{exp: suffix for suffix, exp in _BINARY_SI.items()}}
_NANO = Decimal("1e-9")


def canonical(value: str | int) -> str:
    """The API server's spelling of a quantity; raises ValueError on a malformed one."""
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise ValueError(f"quantities must match the regular expression of a Kubernetes quantity: {value!r}")
    try:
        return _canonical(m)
    except ArithmeticError as err:  # beyond 60 significant digits at nano precision
        raise ValueError(f"quantity {value!r} is out of range") from err


def _canonical(m: re.Match[str]) -> str:
    with localcontext() as ctx:
        ctx.prec = 60
        amount = Decimal(m["num"])
        if m["bin"]:
            amount *= Decimal(1024) ** _BINARY_SI[m["bin"]]
            fmt = "binary"
        elif m["exp"]:
            amount = amount.scaleb(int(m["exp"][1:]))
            fmt = "exponent"
        else:
            amount = amount.scaleb(_DECIMAL_SI[m["dec"]])
            fmt = "si"
        if amount == 0:
            return "0"
        # Values finer than a nano-unit round away from zero, as upstream does.
        rounding = ROUND_CEILING if amount > 0 else ROUND_FLOOR
        amount = amount.quantize(_NANO, rounding=rounding)
        if fmt == "binary" and (abs(amount) < 1024 or amount != amount.to_integral_value()):
            fmt = "si"
        if fmt == "binary":
            return _base1024(int(amount))
        return _base10(amount, fmt)


def _base1024(value: int) -> str:
    exponent = 0
    while value % 1024 == 0 and exponent < 6:
        value //= 1024
        exponent += 1
    return f"{value}{_BIN_SUFFIX[exponent]}"


def _base10(amount: Decimal, fmt: str) -> str:
    sign, digits, exp = amount.normalize().as_tuple()
    exponent = int(exp)  # finite: the regular expression admits no NaN or infinity
    mantissa = int("".join(map(str, digits)))
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    number = f"{'-' if sign else ''}{mantissa}"
    if fmt == "si" and exponent in _SI_SUFFIX:
        return number + _SI_SUFFIX[exponent]
    return number if exponent == 0 else f"{number}e{exponent}"
