"""java.time ``DateTimeFormatter`` patterns (yyyy-MM-dd'T'HH:mm:ss.SSSXXX ...).

Formatting covers the usual letters; parsing (for ``existingFormat``) covers
the numeric fields, month/day names, AM/PM and zone/offset fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _tokens(pattern: str) -> Iterator[tuple[str, str]]:
    """Yield ("field", letters) and ("text", literal) pieces of a pattern."""
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            if i + 1 < n and pattern[i + 1] == "'":
                yield "text", "'"
                i += 2
                continue
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ValueError(f"Pattern ends with an incomplete string literal: {pattern}")
                if pattern[j] == "'":
                    if j + 1 < n and pattern[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(pattern[j])
                j += 1
            yield "text", "".join(buf)
            i = j + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            yield "field", pattern[i:j]
            i = j
        elif c in "[]":
            i += 1  # optional sections: always printed, optional when parsing
        elif c in "{}#":
            raise ValueError(f"Pattern includes reserved character: '{c}'")
        else:
            yield "text", c
            i += 1


def offset_text(value: dt.datetime, colon: bool, z_for_zero: bool, short: bool = False) -> str:
    offset = value.utcoffset() or dt.timedelta(0)
    seconds = int(offset.total_seconds())
    if seconds == 0 and z_for_zero:
        return "Z"
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, minutes, secs = seconds // 3600, seconds // 60 % 60, seconds % 60
    sep = ":" if colon else ""
    text = f"{sign}{hours:02d}"
    if not (short and minutes == 0 and secs == 0):
        text += f"{sep}{minutes:02d}"
    if secs:
        text += f"{sep}{secs:02d}"
    return text


def zone_id(value: dt.datetime) -> str:
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo):
        return tz.key
    return offset_text(value, colon=True, z_for_zero=True)


def _pad(number: int, count: int) -> str:
    return str(number).zfill(count)


def _text(full: str, count: int) -> str:
    if count == 4:
        return full
    if count == 5:
        return full[0]
    return full[:3]


def _field(value: dt.datetime, letters: str) -> str:
    c, n = letters[0], len(letters)
    nanos = value.microsecond * 1000
    if c in "yu":
        return _pad(value.year % 100, 2) if n == 2 else _pad(value.year, n)
    if c == "Y":
        year = value.isocalendar()[0]
        return _pad(year % 100, 2) if n == 2 else _pad(year, n)
    if c in "ML":
        return _pad(value.month, n) if n <= 2 else _text(MONTHS[value.month - 1], n)
    if c == "d":
        return _pad(value.day, n)
    if c == "D":
        return _pad(value.timetuple().tm_yday, n)
    if c == "E":
        return _text(DAYS[value.weekday()], n)
    if c in "ec":
        return str(value.isoweekday() % 7 + 1) if n <= 2 else _text(DAYS[value.weekday()], n)
    if c == "a":
        return "AM" if value.hour < 12 else "PM"
    if c == "H":
        return _pad(value.hour, n)
    if c == "k":
        return _pad(value.hour or 24, n)
    if c == "K":
        return _pad(value.hour % 12, n)
    if c == "h":
        return _pad(value.hour % 12 or 12, n)
    if c == "m":
        return _pad(value.minute, n)
    if c == "s":
        return _pad(value.second, n)
    if c == "S":
        return f"{nanos:09d}"[:n].ljust(n, "0")
    if c == "n":
        return _pad(nanos, n)
    if c == "A":
        return _pad(((value.hour * 60 + value.minute) * 60 + value.second) * 1000 + value.microsecond // 1000, n)
    if c in "Qq":
        quarter = (value.month - 1) // 3 + 1
        return _pad(quarter, n) if n <= 2 else (f"Q{quarter}" if n == 3 else f"{quarter}{['st', 'nd', 'rd', 'th'][quarter - 1]} quarter")
    if c == "w":
        return _pad(value.isocalendar()[1], n)
    if c in "WF":
        return str((value.day - 1) // 7 + 1)
    if c == "G":
        return {4: "Anno Domini", 5: "A"}.get(n, "AD")
    if c == "V":
        return zone_id(value)
    if c in "zv":
        return (value.tzname() or zone_id(value)) if n < 4 else zone_id(value)
    if c == "O":
        text = offset_text(value, colon=True, z_for_zero=False, short=n == 1)
        if text in ("+00", "+00:00"):
            return "GMT"
        return "GMT" + (text.replace(":00", "", 1) if n == 1 and text.endswith(":00") else text)
    if c in "Xx":
        zero = c == "X"
        if n == 1:
            return offset_text(value, colon=False, z_for_zero=zero, short=True)
        return offset_text(value, colon=n in (3, 5), z_for_zero=zero)
    if c == "Z":
        if n <= 3:
            return offset_text(value, colon=False, z_for_zero=False)
        if n == 4:
            text = offset_text(value, colon=True, z_for_zero=False)
            return "GMT" if text == "+00:00" else "GMT" + text
        return offset_text(value, colon=True, z_for_zero=True)
    raise ValueError(f"Unknown pattern letter: {c}")


def java_format(value: dt.datetime, pattern: str) -> str:
    return "".join(piece if kind == "text" else _field(value, piece) for kind, piece in _tokens(pattern))


_OFFSET_RE = r"Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?"
_NAME_RES = {
    "M3": "|".join(m[:3] for m in MONTHS), "M4": "|".join(MONTHS),
    "E3": "|".join(d[:3] for d in DAYS), "E4": "|".join(DAYS),
}


def _parse_regex(pattern: str) -> tuple[re.Pattern[str], list[str]]:
    parts: list[str] = []
    names: list[str] = []
    for kind, piece in _tokens(pattern):
        if kind == "text":
            parts.append(re.escape(piece))
            continue
        c, n = piece[0], len(piece)
        group = f"g{len(names)}"
        names.append(piece)
        if c in "yuY":
            body = r"\d{2}" if n == 2 else rf"[+-]?\d{{{max(n, 1)},}}"
        elif c in "ML" and n >= 3:
            body = _NAME_RES["M4" if n >= 4 else "M3"]
        elif c in "Eec" and (c == "E" or n >= 3):
            body = _NAME_RES["E4" if n >= 4 else "E3"]
        elif c == "a":
            body = "AM|PM|am|pm"
        elif c == "S":
            body = rf"\d{{{n}}}"
        elif c in "XxZ":
            body = r"GMT(?:[+-]\d{2}:\d{2})?|" + _OFFSET_RE
        elif c in "VzO":
            body = r"[A-Za-z][A-Za-z0-9_/+\-:]*"
        else:
            body = rf"\d{{{n}}}" if n >= 2 else r"\d+"
        parts.append(f"(?P<{group}>{body})")
    return re.compile("".join(parts), re.IGNORECASE), names


def _zone_from(text: str) -> dt.tzinfo:
    if text.upper() == "Z":
        return dt.UTC
    match = re.fullmatch(r"(?:GMT)?([+-])(\d{2}):?(\d{2})?:?(\d{2})?", text)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0),
                             seconds=int(match.group(4) or 0))
        return dt.timezone(sign * delta)
    return ZoneInfo(text)


def java_parse(text: str, pattern: str, default_zone: dt.tzinfo) -> dt.datetime:
    regex, names = _parse_regex(pattern)
    match = regex.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"Text '{text}' could not be parsed with the pattern '{pattern}'")
    f: dict[str, int] = {"year": 1970, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "micro": 0}
    pm: bool | None = None
    zone: dt.tzinfo | None = None
    for index, letters in enumerate(names):
        raw = match.group(f"g{index}")
        c, n = letters[0], len(letters)
        if c in "yuY":
            f["year"] = 2000 + int(raw) if n == 2 else int(raw)
        elif c in "ML":
            f["month"] = int(raw) if n <= 2 else [m[: len(raw)].lower() for m in MONTHS].index(raw.lower()) + 1
        elif c == "d":
            f["day"] = int(raw)
        elif c in "Hk":
            f["hour"] = int(raw) % 24
        elif c in "hK":
            f["hour"] = int(raw) % 12
        elif c == "m":
            f["minute"] = int(raw)
        elif c == "s":
            f["second"] = int(raw)
        elif c == "S":
            f["micro"] = int(raw.ljust(6, "0")[:6])
        elif c == "a":
            pm = raw.upper() == "PM"
        elif c in "XxZVzO":
            zone = _zone_from(raw)
    if pm is not None and pm:
        f["hour"] += 12
    return dt.datetime(f["year"], f["month"], f["day"], f["hour"], f["minute"], f["second"],
                       f["micro"], tzinfo=zone or default_zone)
