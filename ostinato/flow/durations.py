"""ISO-8601 durations (`PT5M`, `PT0.25s`, `P1D`) as Kestra writes them."""

from __future__ import annotations

from datetime import timedelta

from pydantic import TypeAdapter, ValidationError

_TIMEDELTA = TypeAdapter(timedelta)


class InvalidDuration(ValueError):
    """A string that is not an ISO-8601 duration."""


def parse_duration(text: str | timedelta) -> timedelta:
    """Parse an ISO-8601 duration; Kestra accepts lower-case unit letters too."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str) or not text.strip().upper().startswith("P"):
        raise InvalidDuration(f"`{text}` is not an ISO-8601 duration such as PT5M")
    try:
        return _TIMEDELTA.validate_python(text.strip().upper())
    except ValidationError:
        raise InvalidDuration(f"`{text}` is not an ISO-8601 duration such as PT5M") from None


def format_duration(value: timedelta) -> str:
    """Render a timedelta as Java's Duration.toString does (`PT5M6S`)."""
    total = value.total_seconds()
    if total == 0:
        return "PT0S"
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "PT" + sign
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    if seconds:
        out += (f"{seconds:.9f}".rstrip("0").rstrip(".") if seconds % 1 else f"{int(seconds)}") + "S"
    return out
