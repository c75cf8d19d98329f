"""How values print and serialise the Kestra way (JSON maps, Java doubles)."""

from __future__ import annotations

import datetime as _dt
import json
import math
from decimal import Decimal
from typing import Any

from jinja2 import Undefined

from ._budget import check_written_size


def check_defined(value: Any) -> Any:
    """Fail with the undefined-variable error if ``value`` is an Undefined."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def java_double(value: float) -> str:
    """``Double.toString``: 42.42 -> '42.42', 1.0 -> '1.0', 1e20 -> '1.0E20'."""
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        return text if "." in text else text + ".0"
    _, digits, exponent = Decimal(repr(magnitude)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = exponent + len(digits) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if value < 0 else "") + f"{mantissa}E{power}"


def _json_default(value: Any) -> Any:
    check_defined(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """Compact JSON, as Kestra's Jackson mapper writes it.

    A value built by a template can share one list many times over (`[x, x]`, nested):
    its JSON would be exponentially larger than the value and json.dumps, being C code,
    could not be stopped. So a container's written size is estimated first (linear in the
    distinct containers) and refused over the render output limit."""
    check_defined(value)
    if isinstance(value, (list, tuple, dict)):
        check_written_size(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def to_string(value: Any) -> str:
    """The text Kestra prints for ``value`` (None prints as the empty string)."""
    check_defined(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, (dict, list, tuple)) or hasattr(value, "keys"):
        try:
            return to_json(dict(value) if hasattr(value, "keys") else value)
        except TypeError:
            return str(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return str(value)


def finalize(value: Any) -> Any:
    """Jinja ``finalize``: what a ``{{ }}`` block prints."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return to_string(value)
