"""The budgets every evaluation of user content runs under (DESIGN.md invariant 8).

One set of limits for every service (API, executor, worker, scheduler): read once, lazily,
from the environment the first time a budget is needed (never inside the decider's own
code: the decider calls the expression package, which asks here), or set explicitly with
`configure` (tests, a service that reads its own configuration).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


class BudgetExceeded(Exception):
    """A computation went over one of its limits; ``str(e)`` names the limit and its value."""


@dataclass(frozen=True)
class Limits:
    """Every budget, with its default. The environment variable of each is in `SETTINGS`."""

    #: wall-clock seconds one template render may take (nested render() calls included)
    render_timeout: float = 2.0
    #: characters one render may produce, and the largest string or list it may build
    render_max_output: int = 10 * 1024 * 1024
    #: wall-clock seconds one jq program may run
    jq_timeout: float = 1.0
    #: bytes of memory a jq program may allocate (on top of the sandbox process itself)
    jq_memory: int = 256 * 1024 * 1024
    #: jq sandbox processes kept running for reuse (started on first use)
    jq_processes: int = 2
    #: characters plus nodes a YAML document may hold once its aliases are expanded
    yaml_max_expanded: int = 4 * 1024 * 1024


#: field -> environment variable
SETTINGS: dict[str, str] = {
    "render_timeout": "OSTINATO_RENDER_TIMEOUT_SECONDS",
    "render_max_output": "OSTINATO_RENDER_MAX_OUTPUT_CHARS",
    "jq_timeout": "OSTINATO_JQ_TIMEOUT_SECONDS",
    "jq_memory": "OSTINATO_JQ_MEMORY_BYTES",
    "jq_processes": "OSTINATO_JQ_PROCESSES",
    "yaml_max_expanded": "OSTINATO_YAML_MAX_EXPANDED_SIZE",
}

_lock = threading.Lock()
_current: Limits | None = None


def from_environment(environ: Mapping[str, str]) -> Limits:
    """The limits `environ` sets (defaults for the others); ValueError names a bad setting."""
    values: dict[str, Any] = {}
    for field in fields(Limits):
        raw = environ.get(SETTINGS[field.name])
        if raw is None or raw.strip() == "":
            continue
        kind = float if field.type in (float, "float") else int
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"{SETTINGS[field.name]} must be a number, got {raw!r}") from None
        if value <= 0:
            raise ValueError(f"{SETTINGS[field.name]} must be positive, got {raw!r}")
        values[field.name] = value
    return Limits(**values)


def limits() -> Limits:
    """The limits in force: read from the process environment on first use."""
    global _current
    current = _current
    if current is None:
        with _lock:
            if _current is None:
                _current = from_environment(os.environ)
            current = _current
    return current


def configure(**overrides: Any) -> Limits:
    """Replace some limits (the others keep their value); returns the limits now in force."""
    global _current
    with _lock:
        base = _current if _current is not None else from_environment(os.environ)
        _current = replace(base, **overrides)
        return _current


def reset() -> None:
    """Forget configured limits: the next `limits()` reads the environment again (tests)."""
    global _current
    with _lock:
        _current = None


def describe_seconds(seconds: float) -> str:
    """`2 s`, `0.5 s`: how a time limit reads in an error."""
    return f"{seconds:g} s"


def describe_bytes(size: int) -> str:
    """`256 MiB`, `10 KiB`, `123 bytes`: how a size limit reads in an error."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"
