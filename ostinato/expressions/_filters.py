"""Pebble core and Kestra string/collection filters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from jinja2 import Undefined

from ostinato.sandbox import regex

from ._budget import check_length
from ._values import check_defined, to_string


def is_empty(value: Any) -> bool:
    """Pebble's EmptyTest: null, blank string, empty list or map."""
    if value is None or isinstance(value, Undefined):
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, tuple, set, Mapping)):
        return len(value) == 0
    return False


def default(value: Any, default: Any = None) -> Any:
    return default if is_empty(value) else value


def _text(value: Any) -> str:
    return to_string(value)


def _str_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """Null passes through, as in Pebble; anything else is used as text."""

    def apply(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_defined(value)
        if value is None:
            return None
        return function(_text(value), *args, **kwargs)

    apply.__name__ = function.__name__
    return apply


def title(value: str) -> str:
    out, capitalize_next = [], True
    for char in value:
        if char.isspace():
            capitalize_next = True
        elif capitalize_next:
            char, capitalize_next = char.title(), False
        out.append(char)
    return "".join(out)


def capitalize(value: str) -> str:
    stripped = value.lstrip()
    if not stripped:
        return value
    index = len(value) - len(stripped)
    return value[:index] + value[index].title() + value[index + 1:]


def abbreviate(value: str, length: int) -> str:
    if length < 0:
        raise ValueError("abbreviate length must be >= 0")
    if len(value) <= length or len(value) <= 3:
        return value
    if length <= 3:
        return value[:length]
    return value[: length - 3] + "..."


def slugify(value: str) -> str:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text.lower())
    return text.strip("-")


def substring_before(value: str, separator: str) -> str:
    if not separator:
        return ""
    index = value.find(separator)
    return value if index < 0 else value[:index]


def substring_after(value: str, separator: str) -> str:
    if not separator:
        return value
    index = value.find(separator)
    return "" if index < 0 else value[index + len(separator):]


def substring_before_last(value: str, separator: str) -> str:
    if not separator:
        return value
    index = value.rfind(separator)
    return value if index < 0 else value[:index]


def substring_after_last(value: str, separator: str) -> str:
    if not separator:
        return ""
    index = value.rfind(separator)
    return "" if index < 0 or index == len(value) - len(separator) else value[index + len(separator):]


def _line_separator(value: str) -> str:
    for separator in ("\r\n", "\n\r", "\n", "\r"):
        if separator in value:
            return separator
    return "\n"


def indent(value: str, amount: int, prefix: str = " ") -> str:
    """Indent every line but the first (Kestra's indent)."""
    if not value:
        return value
    newline = _line_separator(value)
    check_length(len(prefix) * int(amount) * (value.count(newline) + 1), "the `indent` filter")
    return value.replace(newline, newline + prefix * int(amount))


def nindent(value: str, amount: int, prefix: str = " ") -> str:
    """A newline, then every line indented (Kestra's nindent)."""
    if not value:
        return value
    newline = _line_separator(value)
    check_length(len(prefix) * int(amount) * (value.count(newline) + 2), "the `nindent` filter")
    return (newline + value).replace(newline, newline + prefix * int(amount))


def escape_char(value: str, type: str) -> str:
    if type == "single":
        return value.replace("'", "\\'")
    if type == "double":
        return value.replace('"', '\\"')
    if type == "shell":
        return value.replace("'", "'\\''")
    raise ValueError(f"Unknown escapeChar type '{type}', expected single, double or shell")


def split(value: str, delimiter: str, limit: int | None = None) -> list[str]:
    """Java ``String.split``: the delimiter is a regex; trailing empties dropped."""
    if value == "":
        return [""]
    if limit is not None and limit > 0:
        return regex.split(delimiter, value, maxsplit=limit - 1)
    parts = regex.split(delimiter, value)
    if limit is None or limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def urlencode(value: str) -> str:
    return quote_plus(value, safe="*").replace("~", "%7E")


def _replace_in(value: Any, pairs: Mapping[Any, Any], regexp: bool) -> Any:
    if isinstance(value, Mapping):
        return {k: _replace_in(v, pairs, regexp) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_in(v, pairs, regexp) for v in value]
    text = _text(value)
    for search, replacement in pairs.items():
        if regexp:
            text = regex.sub(_text(search), re.sub(r"\$(\d)", r"\\\1", _text(replacement)), text)
        else:
            text = text.replace(_text(search), _text(replacement))
    return text


def replace(value: Any, replace_pairs: Any = None, replacement: Any = None, regexp: bool = False) -> Any:
    """``replace({'a': 'b'}, regexp=false)``; ``replace('a', 'b')`` also works."""
    check_defined(value)
    if value is None:
        return None
    if isinstance(replace_pairs, Mapping):
        pairs = replace_pairs
    elif replace_pairs is not None and replacement is not None:
        pairs = {replace_pairs: replacement}
    else:
        raise ValueError("The argument 'replace_pairs' is required.")
    return _replace_in(value, pairs, regexp)


def first(value: Any) -> Any:
    check_defined(value)
    if value is None or len(value) == 0:
        return None
    if isinstance(value, Mapping):
        return next(iter(value.values()))
    return value[0]


def last(value: Any) -> Any:
    check_defined(value)
    if value is None or len(value) == 0:
        return None
    if isinstance(value, Mapping):
        return list(value.values())[-1]
    return value[-1]


def length(value: Any) -> int:
    check_defined(value)
    return 0 if value is None else len(value)


def join(value: Any, separator: str = "") -> str | None:
    check_defined(value)
    if value is None:
        return None
    return separator.join(_text(item) for item in value)


def reverse(value: Any) -> Any:
    check_defined(value)
    if value is None:
        return None
    return value[::-1] if isinstance(value, str) else list(reversed(list(value)))


def merge(value: Any, items: Any) -> Any:
    check_defined(value)
    check_defined(items)
    if isinstance(value, Mapping):
        if not isinstance(items, Mapping):
            raise TypeError("merge: a map can only be merged with a map")
        return {**value, **items}
    if isinstance(items, Mapping):
        raise TypeError("merge: a list can only be merged with a list")
    return list(value) + list(items)


def slice_(value: Any, fromIndex: int = 0, toIndex: int | None = None) -> Any:
    check_defined(value)
    if value is None:
        return None
    sliced = value[fromIndex:toIndex]
    return sliced if isinstance(value, str) else list(sliced)


STRING_FILTERS: dict[str, Callable[..., Any]] = {
    "upper": str.upper, "lower": str.lower, "trim": str.strip,
    "title": title, "capitalize": capitalize, "abbreviate": abbreviate,
    "slugify": slugify, "substringBefore": substring_before,
    "substringAfter": substring_after, "substringBeforeLast": substring_before_last,
    "substringAfterLast": substring_after_last, "startsWith": str.startswith,
    "endsWith": str.endswith, "indent": indent, "nindent": nindent,
    "escapeChar": escape_char, "split": split, "urlencode": urlencode,
    "urldecode": unquote_plus, "string": str,
}

FILTERS: dict[str, Callable[..., Any]] = {
    **{name: _str_filter(function) for name, function in STRING_FILTERS.items()},
    "default": default, "replace": replace, "first": first, "last": last,
    "length": length, "join": join, "reverse": reverse, "merge": merge,
    "slice": slice_,
    "sort": lambda value: sorted(check_defined(value)),
    "rsort": lambda value: sorted(check_defined(value), reverse=True),
    "abs": lambda value: abs(check_defined(value)),
}
