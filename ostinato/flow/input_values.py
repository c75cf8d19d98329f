"""One input value against one simple type: parsing (`coerce_scalar`), the JSON form an
execution keeps, and the text Kestra's messages show (Java's `toString` of each type)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from ostinato.flow.durations import InvalidDuration, format_duration, parse_duration


class InvalidValue(ValueError):
    """One value that does not fit; `reason` is the middle part of Kestra's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_template(value: Any) -> bool:
    """Whether a value is a template, rendered later (never typed here)."""
    return isinstance(value, str) and "{{" in value


def contains_template(value: Any) -> bool:
    """Whether a value, or anything nested in it, is a template."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(contains_template(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_template(v) for v in value)
    return False


def show_value(value: Any) -> str:
    """A given value as Kestra prints it in a message."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={show_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _java_time(value: time) -> str:
    """LocalTime.toString: `01:00` when seconds and fraction are zero."""
    out = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        out += f":{value.second:02d}"
        if value.microsecond:
            out += "." + _fraction(value.microsecond)
    return out


def _fraction(microsecond: int) -> str:
    text = f"{microsecond:06d}"
    return text[:3] if text.endswith("000") else text


def _instant(value: datetime) -> str:
    """Instant.toString: UTC, `Z`, seconds always, fraction only when not zero."""
    value = value.astimezone(timezone.utc)
    out = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        out += "." + _fraction(value.microsecond)
    return out + "Z"


def _float_text(value: float) -> str:
    """Java's Float/Double toString for ordinary values (`1.0`, `0.1`)."""
    return repr(float(value))


def expected(type_: str, value: Any) -> InvalidValue:
    """The error Kestra words "Expected `TYPE` but received `value`"."""
    return InvalidValue(f"Expected `{type_}` but received `{show_value(value)}`")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def coerce_scalar(type_: str, value: Any) -> Any:
    """Parse one value of a simple type into its Python form (raises `InvalidValue`)."""
    if type_ in ("STRING", "ENUM", "SELECT", "SECRET", "EMAIL", "URI"):
        if isinstance(value, (dict, list)):
            raise expected(type_, value)
        text = show_value(value)
        if type_ == "EMAIL" and not _EMAIL.match(text):
            raise expected(type_, value)
        if type_ == "URI":
            parts = urlsplit(text)
            if not parts.scheme or not parts.hostname:
                raise expected(type_, value)
        return text
    if type_ == "INT":
        if isinstance(value, bool):
            raise expected(type_, value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise expected(type_, value)
    if type_ == "FLOAT":
        if isinstance(value, bool):
            raise expected(type_, value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise expected(type_, value) from None
            if math.isfinite(result):
                return result
        raise expected(type_, value)
    if type_ in ("BOOLEAN", "BOOL"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise expected(type_, value)
    if type_ == "DATETIME":
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
            except ValueError:
                raise expected(type_, value) from None
        else:
            raise expected(type_, value)
        if parsed.tzinfo is None:
            # YAML reads an unquoted `2023-01-01T00:00:00Z` as a naive UTC datetime;
            # a string without an offset is not an instant (Instant.parse refuses it).
            if isinstance(value, str):
                raise expected(type_, value)
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed
    if type_ == "DATE":
        if isinstance(value, datetime):
            raise expected(type_, value)
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise expected(type_, value) from None
        raise expected(type_, value)
    if type_ == "TIME":
        if isinstance(value, time):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?", value.strip()):
            text = value.strip()
            if "." in text:  # Python takes at most microseconds
                head, frac = text.split(".")
                text = f"{head}.{frac[:6]:0<6}"
            try:
                return time.fromisoformat(text)
            except ValueError:
                raise expected(type_, value) from None
        raise expected(type_, value)
    if type_ == "DURATION":
        try:
            return parse_duration(value)
        except InvalidDuration:
            raise expected(type_, value) from None
    raise expected(type_, value)


def plain(value: Any) -> Any:
    """Make a parsed YAML value JSON-serialisable (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return _instant(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def to_json_value(type_: str, parsed: Any) -> Any:
    """The JSON form an execution keeps of a parsed value (dates and durations as text)."""
    if type_ == "DATETIME":
        return _instant(parsed)
    if type_ == "DATE":
        return parsed.isoformat()
    if type_ == "TIME":
        return parsed.isoformat()
    if type_ == "DURATION":
        return format_duration(parsed)
    return parsed


def bound_text(type_: str, parsed: Any) -> str:
    """A parsed bound (`min`, `after` ...) as Kestra's messages show it."""
    if type_ == "DATETIME":
        return _instant(parsed)
    if type_ == "DATE":
        return str(parsed.isoformat())
    if type_ == "TIME":
        return _java_time(parsed)
    if type_ == "DURATION":
        return format_duration(parsed)
    if type_ == "FLOAT":
        return _float_text(parsed)
    return str(parsed)
