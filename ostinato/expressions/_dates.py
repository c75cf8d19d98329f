"""Kestra's date filters and functions (AbstractDate): convert, format, add.

Times are rendered in the ``timeZone`` argument, else in UTC (Kestra uses the
JVM default zone, UTC on its servers).  Nothing here reads the clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from ._javatime import (
    DAYS,
    MONTHS,
    _zone_from,
    java_format,
    java_parse,
    offset_text,
    zone_id,
)
from ._values import check_defined

UTC = dt.UTC
DEFAULT_ZONE = ZoneInfo("UTC")  # Kestra's JVM default zone on its servers
_PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "iso_milli": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
}


def zone(name: Any) -> dt.tzinfo:
    if name is None:
        return DEFAULT_ZONE
    check_defined(name)
    try:
        return _zone_from(str(name))
    except (ValueError, KeyError, OSError):
        raise ValueError(f"Unknown time-zone ID: {name}") from None


def _fraction(value: dt.datetime) -> str:
    if not value.microsecond:
        return ""
    return "." + f"{value.microsecond:06d}".rstrip("0")


def _iso_local_time(value: dt.datetime) -> str:
    return value.strftime("%H:%M:%S") + _fraction(value)


def _iso_date(value: dt.datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _offset(value: dt.datetime) -> str:
    return offset_text(value, colon=True, z_for_zero=True)


def _zoned(value: dt.datetime) -> str:
    text = f"{_iso_date(value)}T{_iso_local_time(value)}{_offset(value)}"
    if isinstance(value.tzinfo, ZoneInfo):
        text += f"[{zone_id(value)}]"
    return text


def _iso_week_date(value: dt.datetime) -> str:
    year, week, day = value.isocalendar()
    return f"{year:04d}-W{week:02d}-{day}{_offset(value)}"


def _rfc_1123(value: dt.datetime) -> str:
    offset = offset_text(value, colon=False, z_for_zero=False)
    return (f"{DAYS[value.weekday()][:3]}, {value.day} {MONTHS[value.month - 1][:3]} {value.year} "
            f"{value.strftime('%H:%M:%S')} {'GMT' if offset == '+0000' else offset}")


_ISO_FORMATS = {
    "iso_date_time": _zoned,
    "iso_zoned_date_time": _zoned,
    "iso_offset_date_time": lambda v: f"{_iso_date(v)}T{_iso_local_time(v)}{_offset(v)}",
    "iso_date": lambda v: _iso_date(v) + _offset(v),
    "iso_time": lambda v: _iso_local_time(v) + _offset(v),
    "iso_offset_time": lambda v: _iso_local_time(v) + _offset(v),
    "iso_local_date": _iso_date,
    "iso_local_time": _iso_local_time,
    "iso_local_date_time": lambda v: f"{_iso_date(v)}T{_iso_local_time(v)}",
    "iso_instant": lambda v: f"{_iso_date(u := v.astimezone(UTC))}T{_iso_local_time(u)}Z",
    "iso_ordinal_date": lambda v: f"{v.year:04d}-{v.timetuple().tm_yday:03d}{_offset(v)}",
    "iso_week_date": lambda v: _iso_week_date(v),
    "rfc_1123_date_time": _rfc_1123,
    # Localized styles, as java.time prints them for Locale.US.
    "short": lambda v: java_format(v, "M/d/yy, h:mm a"),
    "medium": lambda v: java_format(v, "MMM d, yyyy, h:mm:ss a"),
    "long": lambda v: java_format(v, "MMMM d, yyyy 'at' h:mm:ss a z"),
    "full": lambda v: java_format(v, "EEEE, MMMM d, yyyy 'at' h:mm:ss a zzzz"),
}


def _parse_iso(text: str, tz: dt.tzinfo) -> dt.datetime:
    region: dt.tzinfo | None = None
    match = re.fullmatch(r"(.*?)\[([^\]]+)\]", text)
    if match:
        text, region = match.group(1), _zone_from(match.group(2))
    # Python keeps microseconds: drop nanosecond digits Java would keep.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip())
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Text '{text}' could not be parsed as a date") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=region or tz)
    return value.astimezone(region) if region else value


def convert(value: Any, tz: dt.tzinfo, existing_format: str | None = None) -> dt.datetime:
    """A timezone-aware datetime from a string, an epoch (seconds) or a datetime."""
    check_defined(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, 12, tzinfo=tz)
    if isinstance(value, bool):
        raise TypeError("A boolean is not a date")
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz)
    if not isinstance(value, str):
        raise TypeError(f"Unable to convert a {type(value).__name__} to a date")
    if existing_format:
        return java_parse(value, _PATTERNS.get(existing_format, existing_format), tz)
    return _parse_iso(value, tz)


def format_date(value: dt.datetime, fmt: str | None, tz: dt.tzinfo) -> str:
    value = value.astimezone(tz)
    fmt = "iso" if fmt is None else fmt
    check_defined(fmt)
    named = _ISO_FORMATS.get(fmt)
    if named is not None:
        return str(named(value))
    return java_format(value, _PATTERNS.get(fmt, fmt))


def date(value: Any, format: str | None = None, timeZone: str | None = None,
         existingFormat: str | None = None, locale: str | None = None) -> str | None:
    if value is None:
        return None
    tz = zone(timeZone)
    return format_date(convert(value, tz, existingFormat), format, tz)


_FIXED_UNITS = {
    "NANOS": dt.timedelta(microseconds=0.001), "MICROS": dt.timedelta(microseconds=1),
    "MILLIS": dt.timedelta(milliseconds=1), "SECONDS": dt.timedelta(seconds=1),
    "MINUTES": dt.timedelta(minutes=1), "HOURS": dt.timedelta(hours=1),
    "HALF_DAYS": dt.timedelta(hours=12),
}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def add(value: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """``ZonedDateTime.plus``: time units on the instant, date units on the local date."""
    unit = str(unit).upper()
    if unit in _FIXED_UNITS:
        return (value.astimezone(UTC) + _FIXED_UNITS[unit] * amount).astimezone(value.tzinfo)
    if unit in ("DAYS", "WEEKS"):
        days = amount * (7 if unit == "WEEKS" else 1)
        return value + dt.timedelta(days=days)  # aware + timedelta is wall-clock arithmetic
    if unit in _MONTH_UNITS:
        months = value.year * 12 + value.month - 1 + amount * _MONTH_UNITS[unit]
        year, month = divmod(months, 12)
        day = min(value.day, calendar.monthrange(year, month + 1)[1])
        return value.replace(year=year, month=month + 1, day=day)
    raise ValueError(f"Unsupported unit for dateAdd: {unit}")


def date_add(value: Any, amount: int, unit: str, format: str | None = None,
             timeZone: str | None = None, existingFormat: str | None = None,
             locale: str | None = None) -> str | None:
    if value is None:
        return None
    check_defined(amount)
    tz = zone(timeZone)
    return format_date(add(convert(value, tz, existingFormat), int(amount), unit), format, tz)


def _epoch_parts(value: Any, timeZone: str | None, existingFormat: str | None) -> tuple[int, int]:
    moment = convert(value, zone(timeZone), existingFormat)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=UTC)
    seconds = delta.days * 86400 + delta.seconds
    return seconds, delta.microseconds * 1000


def timestamp(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> int | None:
    return None if value is None else _epoch_parts(value, timeZone, existingFormat)[0]


def timestamp_milli(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> int | None:
    if value is None:
        return None
    seconds, nanos = _epoch_parts(value, timeZone, existingFormat)
    return seconds * 1000 + nanos // 1_000_000


def timestamp_micro(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> int | None:
    if value is None:
        return None
    seconds, nanos = _epoch_parts(value, timeZone, existingFormat)
    return seconds * 1_000_000 + nanos // 1000


def timestamp_nano(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> int | None:
    if value is None:
        return None
    seconds, nanos = _epoch_parts(value, timeZone, existingFormat)
    return seconds * 1_000_000_000 + nanos
