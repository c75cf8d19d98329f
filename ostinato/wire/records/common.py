"""What every record family shares: JSON text fields, instants and labels.

A record is the dict fastavro writes and reads: camelCase fields, arbitrary JSON values
as JSON text (`outputsJson` ...), instants as timezone-aware datetimes (`timestamp-micros`).
The execution model keeps its dates as ISO text (`History.date`, `Timer.fire_at`); they
travel as instants and come back as the same text (`iso()` of the UTC instant).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ostinato.execution.model import iso


def to_json(value: Any) -> str:
    """JSON text of an arbitrary value, compact (what every `...Json` field holds)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def from_json(text: str) -> Any:
    """The value of a `...Json` field's text."""
    return json.loads(text)


def opt_json(value: Any) -> str | None:
    """JSON text of a value, or None for None (an optional `...Json` field)."""
    return None if value is None else to_json(value)


def opt_from_json(text: str | None) -> Any:
    """The value of an optional `...Json` field (None stays None)."""
    return None if text is None else json.loads(text)


def instant(moment: datetime) -> datetime:
    """An aware datetime for a `timestamp-micros` field (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def opt_instant(moment: datetime | None) -> datetime | None:
    """`instant()` of an optional moment (None stays None)."""
    return None if moment is None else instant(moment)


def instant_of_text(text: str) -> datetime:
    """The instant of the model's ISO text (`2024-01-01T00:00:00Z`)."""
    return instant(datetime.fromisoformat(text))


def text_of_instant(moment: datetime) -> str:
    """The model's ISO text of an instant: UTC, `Z` suffix, as `iso()` writes it."""
    return iso(instant(moment).astimezone(timezone.utc))


def labels_record(labels: dict[str, Any]) -> list[dict[str, str]]:
    """Labels as [{key, value}]; a value that is not a string is written as JSON text (as
    Kestra's labels, they are strings)."""
    return [{"key": str(k), "value": v if isinstance(v, str) else to_json(v)}
            for k, v in labels.items()]


def labels_from_record(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Labels back from [{key, value}], as a dict."""
    return {item["key"]: item["value"] for item in items}
