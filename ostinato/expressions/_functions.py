"""Kestra functions: now, json, yaml, render, secret, read, errorLogs ...

Caller-supplied facts come from the render state (``_runtime``), never from
the machine: the render time is ``__now__``, the random draws of uuid() and
randomInt() derive from ``__seed__``, secrets come from ``__secrets__``, file
reads go through the ``__read__`` callable.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable, Mapping
from typing import Any

from . import _dates
from ._data import from_json, parse_yaml
from ._errors import ExpressionError
from ._runtime import current_state, inclusive_range, next_draw
from ._values import check_defined

MAX_RENDER_ROUNDS = 100


def now(format: str | None = None, timeZone: str | None = None,
        locale: str | None = None) -> str:
    moment = current_state().specials.get("__now__")
    if moment is None:
        raise ExpressionError("now() needs the render time")
    tz = _dates.zone(timeZone)
    return _dates.format_date(_dates.convert(moment, tz), format, tz)


def uuid() -> str:
    """A version-4 UUID drawn from the render's seed (fresh when the caller gave none)."""
    return str(_uuid.UUID(bytes=next_draw()[:16], version=4))


def random_int(lower: int, upper: int) -> int:
    """An integer in [lower, upper) drawn from the render's seed (fresh without one)."""
    check_defined(lower)
    check_defined(upper)
    low, high = int(lower), int(upper)
    if high <= low:
        raise ValueError("randomInt: 'upper' must be greater than 'lower'")
    # 256 random bits: the modulo bias is negligible for any span a flow can use
    return low + int.from_bytes(next_draw(), "big") % (high - low)


def maximum(*values: Any) -> Any:
    return max(check_defined(v) for v in values)


def minimum(*values: Any) -> Any:
    return min(check_defined(v) for v in values)


def render(toRender: Any, recursive: bool = True) -> Any:
    """Render ``toRender`` with the current variables, again and again until
    nothing changes (``recursive``), like Kestra's render()."""
    from ._render import render_nested  # render() is the one way back into the renderer

    check_defined(toRender)
    if not isinstance(toRender, str):
        return toRender
    current = toRender
    for _ in range(MAX_RENDER_ROUNDS):
        rendered = render_nested(current)
        if not recursive or rendered == current:
            return rendered
        current = rendered
    raise ExpressionError(f"render() did not settle after {MAX_RENDER_ROUNDS} rounds: `{toRender}`")


def render_once(toRender: Any) -> Any:
    return render(toRender, recursive=False)


def current_each_output(outputs: Any) -> Any:
    """Walk ``outputs`` down the current ForEach values (``__each_values__``)."""
    check_defined(outputs)
    current = outputs
    for value in current_state().specials.get("__each_values__") or []:
        if not isinstance(current, Mapping) or value not in current:
            break
        current = current[value]
    return current


def error_logs() -> list[Any]:
    return list(current_state().specials.get("__error_logs__") or [])


def secret(key: Any, namespace: str | None = None) -> Any:
    check_defined(key)
    secrets = current_state().specials.get("__secrets__") or {}
    if key not in secrets:
        raise ExpressionError(f"Cannot find secret for key '{key}'")
    return secrets[key]


def _reader() -> Callable[[str], Any]:
    reader = current_state().specials.get("__read__")
    if reader is None:
        raise ExpressionError("read() is not available: no file reader was given")
    return reader  # type: ignore[no-any-return]


def read(path: Any) -> str:
    check_defined(path)
    content = _reader()(str(path))
    return content.decode("utf-8") if isinstance(content, bytes) else str(content)


def kv(key: Any, namespace: Any = None, errorOnMissing: Any = True) -> Any:
    """Kestra's kv(): a value of the KV store, through the ``__kv__`` callable a worker
    gives its renders. The decider's renders have none (they read no store: invariant 1)."""
    check_defined(key)
    lookup = current_state().specials.get("__kv__")
    if lookup is None:
        raise ExpressionError(
            "kv() is only available in task properties (rendered on a worker): not in "
            "runIf, conditions, Switch values, ForEach values or flow outputs. Read the value "
            "with an io.kestra.plugin.core.kv.Get task and use its output instead")
    try:
        return lookup(key, namespace, errorOnMissing)
    except ValueError as error:  # KvError: a missing key, a bad key
        raise ExpressionError(str(error)) from None


def file_size(path: Any) -> int:
    return len(read(path).encode("utf-8"))


def is_file_empty(path: Any) -> bool:
    return file_size(path) == 0


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "now": now,
    "json": from_json,
    "fromJson": from_json,
    "jsonDecode": from_json,
    "yaml": parse_yaml,
    "fromYaml": parse_yaml,
    "uuid": uuid,
    "randomInt": random_int,
    "range": inclusive_range,
    "max": maximum,
    "min": minimum,
    "render": render,
    "renderOnce": render_once,
    "currentEachOutput": current_each_output,
    "errorLogs": error_logs,
    "secret": secret,
    "read": read,
    "kv": kv,
    "fileSize": file_size,
    "isFileEmpty": is_file_empty,
}

DATE_FILTERS: dict[str, Callable[..., Any]] = {
    "date": _dates.date,
    "dateAdd": _dates.date_add,
    "timestamp": _dates.timestamp,
    "timestampMilli": _dates.timestamp_milli,
    "timestampMicro": _dates.timestamp_micro,
    "timestampNano": _dates.timestamp_nano,
}
