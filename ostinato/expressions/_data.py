"""Data filters and tests: JSON, jq, YAML, numbers, hashes, base64, keys/values."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import yaml
from jinja2 import Undefined as _Undefined

from ostinato.sandbox.jq_pool import JqError, run_jq
from ostinato.sandbox.yaml_load import load_yaml

from ._budget import RenderTimeLimit, remaining_seconds
from ._filters import is_empty
from ._values import check_defined, to_json


def to_json_filter(value: Any) -> str:
    return to_json(value)


def from_json(value: Any) -> Any:
    check_defined(value)
    if value is None or not isinstance(value, (str, bytes)):
        return value
    return json.loads(value)


def parse_yaml(value: Any) -> Any:
    check_defined(value)
    if value is None or not isinstance(value, str):
        return value
    return load_yaml(value)  # aliases bounded (ostinato.sandbox.yaml_load)


def to_yaml(value: Any) -> str:
    check_defined(value)
    return yaml.safe_dump(
        json.loads(to_json(value)), default_flow_style=False, sort_keys=False, allow_unicode=True
    )


def jq_filter(value: Any, expression: str) -> list[Any] | None:
    """Kestra's jq: the input is a JSON string or a value; returns all results.

    The program runs in a jq sandbox process (no environment, no files, bounded in time
    by the jq limit and what is left of the render's, and in memory)."""
    check_defined(value)
    check_defined(expression)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            raise ValueError(f"Unable to parse jq value '{value}' as JSON") from None
        data = value
    else:
        data = to_json(value)
    left = remaining_seconds()
    if left is not None and left <= 0:
        raise RenderTimeLimit
    try:
        return run_jq(str(expression), data, left)
    except JqError as error:
        message = str(error)
        if message.startswith("Invalid jq expression"):
            raise ValueError(message) from None
        raise ValueError(
            f"Failed to resolve JQ expression '{expression}' and value '{value}': {message}"
        ) from None


_NUMBER_TYPES: dict[str, Callable[[str], Any]] = {
    "INT": int, "LONG": int, "BIGINTEGER": int,
    "FLOAT": float, "DOUBLE": float, "BIGDECIMAL": Decimal,
}


def _create_number(text: str) -> int | float:
    """commons-lang NumberUtils.createNumber, the common cases."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered.startswith(("0x", "-0x", "#", "-#")):
        negative = lowered.startswith("-")
        digits = lowered.lstrip("-").lstrip("#").removeprefix("0x")
        return (-1 if negative else 1) * int(digits, 16)
    if stripped[-1:] in "lL" and stripped[:-1].lstrip("-").isdigit():
        return int(stripped[:-1])
    if stripped[-1:] in "fFdD":
        return float(stripped[:-1])
    try:
        return int(stripped)
    except ValueError:
        return float(stripped)


def number(value: Any, type: str | None = None) -> Any:
    check_defined(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"'number' filter can only be applied to String. Actual type was: {type_name(value)}")
    if type:
        if type not in _NUMBER_TYPES:
            raise ValueError(f"Unknown number type '{type}'")
        return _NUMBER_TYPES[type](value.strip())
    try:
        return _create_number(value)
    except ValueError:
        raise ValueError(f"{value} is not a valid number.") from None


def type_name(value: Any) -> str:
    return type(value).__name__


def _bytes(value: Any) -> bytes:
    check_defined(value)
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _digest(name: str) -> Callable[[Any], str | None]:
    def apply(value: Any) -> str | None:
        return None if value is None else hashlib.new(name, _bytes(value)).hexdigest()

    return apply


def base64encode(value: Any) -> str | None:
    return None if value is None else base64.b64encode(_bytes(value)).decode("ascii")


def base64decode(value: Any) -> str | None:
    return None if value is None else base64.b64decode(_bytes(value)).decode("utf-8")


def keys(value: Any) -> list[Any] | None:
    check_defined(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.keys())
    if isinstance(value, (list, tuple)):
        return list(range(len(value)))
    raise TypeError(f"The 'keys' filter can only be applied to a map. Actual type was: {type_name(value)}")


def values(value: Any) -> list[Any] | None:
    check_defined(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.values())
    raise TypeError(f"The 'values' filter can only be applied to a map. Actual type was: {type_name(value)}")


def is_json(value: Any) -> bool:
    """Kestra's ``json`` test: a string holding a JSON object or array."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _int_test(remainder: int) -> Callable[[Any], bool]:
    def apply(value: Any) -> bool:
        check_defined(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"Can not test `even`/`odd` on {type_name(value)}")
        return int(value) % 2 == remainder

    return apply


def number_format(value: Any, format: str = "#.##") -> str:
    """A subset of java.text.DecimalFormat: 0/# digits, ',' grouping, '.'."""
    check_defined(value)
    integer_part, _, fraction_part = format.partition(".")
    min_fraction = fraction_part.count("0")
    max_fraction = min_fraction + fraction_part.count("#")
    quantum = Decimal(1).scaleb(-max_fraction)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_EVEN)
    text = f"{abs(number):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(min_fraction, "0")
    whole = whole.zfill(integer_part.count("0"))
    if integer_part.count("0") == 0 and whole == "0" and fraction:
        whole = ""
    if "," in integer_part:
        size = len(integer_part) - integer_part.rfind(",") - 1
        groups = [whole[max(i - size, 0):i] for i in range(len(whole), 0, -size)]
        whole = ",".join(reversed(groups))
    sign = "-" if number < 0 else ""
    return sign + whole + ("." + fraction if fraction else "")


def chunk(value: Any, size: int) -> list[list[Any]]:
    items = list(check_defined(value) or [])
    return [items[i:i + int(size)] for i in range(0, len(items), int(size))]


def distinct(value: Any) -> list[Any]:
    result: list[Any] = []
    for item in check_defined(value) or []:
        if item not in result:
            result.append(item)
    return result


def flatten(value: Any) -> list[Any]:
    result: list[Any] = []
    for item in check_defined(value) or []:
        result.extend(item if isinstance(item, (list, tuple)) else [item])
    return result


DATA_FILTERS: dict[str, Callable[..., Any]] = {
    "json": to_json_filter, "toJson": to_json_filter, "jsonEncode": to_json_filter,
    "fromJson": from_json, "jsonDecode": from_json, "jq": jq_filter,
    "yaml": to_yaml, "toYaml": to_yaml, "number": number,
    "sha1": _digest("sha1"), "sha256": _digest("sha256"), "sha512": _digest("sha512"),
    "md5": _digest("md5"), "base64encode": base64encode, "base64decode": base64decode,
    "keys": keys, "values": values, "className": type_name,
    "numberFormat": number_format, "chunk": chunk, "distinct": distinct, "flatten": flatten,
}

TESTS: dict[str, Callable[..., bool]] = {
    "json": is_json,
    "empty": lambda value: is_empty(check_defined(value)),
    "null": lambda value: value is None or isinstance(value, _Undefined),
    "none": lambda value: value is None or isinstance(value, _Undefined),
    "even": _int_test(0),
    "odd": _int_test(1),
    "map": lambda value: isinstance(check_defined(value), Mapping),
    "iterable": lambda value: isinstance(check_defined(value), (list, tuple, set, Mapping)),
}
