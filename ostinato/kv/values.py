"""Typed KV values as Kestra's KV store has them (pure: no Kafka, no clock).

A value is kept as its JSON form plus one of Kestra's types (`KVType`): STRING, NUMBER,
BOOLEAN, DATETIME, DATE, DURATION, JSON. Date-times, dates and durations are their
ISO-8601 texts (`2024-05-01T10:00:00Z`, `2024-05-01`, `PT1H`), as Kestra's JSON writes them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ostinato.flow.durations import InvalidDuration, format_duration, parse_duration

TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")

#: Kestra's KVStore.KEY_VALIDATOR_PATTERN
_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
#: Kestra's InternalKVStore.DURATION_PATTERN: a string read back as a Duration
_DURATION = re.compile(r"^P(?=[^T]|T.)(?:\d*D)?(?:T(?=.)(?:\d*H)?(?:\d*M)?(?:\d*S)?)?$")
_ION_SYMBOL = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})")
#: the largest JSON text of one value (a KV record must fit the broker's message size)
MAX_VALUE_BYTES = 512 * 1024


class KvError(ValueError):
    """A KV operation refused: a bad key, value, type or TTL, or a key that exists with
    `overwrite: false`. The message says which and why."""


class KvTooLarge(KvError):
    """A value over MAX_VALUE_BYTES."""


@dataclass(frozen=True)
class TypedValue:
    """A value as the store keeps it: Kestra's type and the JSON value."""

    type: str
    value: Any

    def json(self) -> str:
        return json.dumps(self.value, separators=(",", ":"), ensure_ascii=False)


def validate_key(key: Any) -> str:
    """`key` when it is a valid KV key (Kestra's rule), else KvError saying the rule."""
    if not isinstance(key, str) or not key:
        raise KvError("Key cannot be null or empty")
    if not _KEY.fullmatch(key):
        raise KvError(f"Invalid key `{key}`: a key must start with an alphanumeric character "
                      "(uppercase or lowercase) and can contain alphanumeric characters, dots "
                      "(.), underscores (_), and hyphens (-) only.")
    return key


def typed(value: Any) -> TypedValue:
    """The type Kestra gives a value (`KVType.from`; a duration-like string is a DURATION,
    as Kestra reads it back), with the value in its JSON form."""
    if value is None:
        return TypedValue("STRING", None)
    if isinstance(value, bool):
        return TypedValue("BOOLEAN", value)
    if isinstance(value, (int, float)):
        return TypedValue("NUMBER", value)
    if isinstance(value, datetime):
        return TypedValue("DATETIME", _iso_instant(value))
    if isinstance(value, date):
        return TypedValue("DATE", value.isoformat())
    if isinstance(value, timedelta):
        return TypedValue("DURATION", format_duration(value))
    if isinstance(value, str):
        return TypedValue("DURATION" if _DURATION.match(value) else "STRING", value)
    if isinstance(value, (dict, list, tuple)):
        return TypedValue("JSON", json.loads(json.dumps(value, default=str)))
    return TypedValue("STRING", str(value))


def coerce(value: Any, kv_type: str | None) -> TypedValue:
    """The Set task's value with its `kvType` applied (Kestra converts a string value to the
    type; a value already typed keeps its own). KvError when the string is not of the type."""
    if kv_type is None or not isinstance(value, str):
        return typed(value)
    kind = kv_type.upper()
    if kind not in TYPES:
        raise KvError(f"Unknown kvType `{kv_type}`: one of {', '.join(TYPES)}")
    try:
        return _COERCIONS[kind](value.strip() if kind != "STRING" else value)
    except (ValueError, InvalidDuration) as error:
        raise KvError(f"The value `{_short(value)}` is not a {kind}: {error}") from None


def _number(text: str) -> TypedValue:
    number = json.loads(text)
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ValueError("not a number")
    return TypedValue("NUMBER", number)


def _datetime(text: str) -> TypedValue:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return TypedValue("DATETIME", _iso_instant(moment))


def _date(text: str) -> TypedValue:
    if _ISO_DATE.fullmatch(text):
        return TypedValue("DATE", date.fromisoformat(text).isoformat())
    return TypedValue("DATE", _datetime(text).value)


_COERCIONS = {
    "STRING": lambda text: TypedValue("STRING", text),
    "NUMBER": _number,
    "BOOLEAN": lambda text: TypedValue("BOOLEAN", text.lower() == "true"),
    "DATETIME": _datetime,
    "DATE": _date,
    "DURATION": lambda text: TypedValue("DURATION", format_duration(parse_duration(text))),
    "JSON": lambda text: TypedValue("JSON", json.loads(text)),
}


def parse_body(body: str) -> TypedValue:
    """The value of a `PUT .../kv/{key}` body, read as Kestra reads it (Amazon Ion, a
    superset of JSON): JSON values as they are, a bare ISO date-time or date as a DATETIME
    or DATE, a bare word as a string (`PT1H` a duration). KvError for anything else."""
    text = body.strip()
    if not text:
        raise KvError("Invalid JSON value for: (an empty body)")
    try:
        return typed(json.loads(text))
    except ValueError:
        pass
    if _ISO_DATETIME.fullmatch(text):
        return _datetime(text)
    if _ISO_DATE.fullmatch(text):
        return _date(text)
    if _ION_SYMBOL.fullmatch(text):
        return typed(text)
    raise KvError(f"Invalid JSON value for: {_short(body)}")


def parse_ttl(ttl: Any) -> timedelta | None:
    """A TTL (ISO-8601 duration such as `PT1H`, or a timedelta); None when none. KvError
    when it is not a duration or is negative."""
    if ttl is None or ttl == "":
        return None
    if isinstance(ttl, str) and ttl.strip().startswith("-"):  # Java's `-PT1H`
        raise KvError("ttl cannot be negative")
    try:
        duration = parse_duration(ttl)
    except InvalidDuration as error:
        raise KvError(f"Invalid ttl: {error}") from None
    if duration < timedelta(0):
        raise KvError("ttl cannot be negative")
    return duration


def check_size(value: TypedValue) -> str:
    """The value's JSON text; KvError when it is over MAX_VALUE_BYTES (large data belongs in
    internal storage, where a KV value can point with a `kestra://` URI)."""
    text = value.json()
    size = len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise KvTooLarge(f"The value is {size} bytes, over the KV store's limit of "
                      f"{MAX_VALUE_BYTES} bytes: store large data in internal storage and keep "
                      "its kestra:// URI in the KV store")
    return text


def _iso_instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
