"""Per-render state and the helpers translated Pebble operators call.

The helper names start with ``__`` so they cannot clash with Kestra variables.
Caller-supplied special keys (``__now__``, ``__seed__``, ``__secrets__`` ...) are
taken out of the template's namespace and kept here, so a template cannot dump them.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Undefined, pass_context, pass_environment
from jinja2.environment import Environment
from jinja2.runtime import Context

from ._budget import TimedLoop, check_product, check_size
from ._values import check_defined, to_string

SPECIAL_KEYS = (
    "__now__", "__seed__", "__each_values__", "__error_logs__", "__secrets__", "__read__",
    "__kv__",
)
MAX_RANGE = 100_000


class Draws:
    """The random draws of one render (uuid(), randomInt()).

    With a seed, draw ``i`` is a hash of the seed, ``i`` and the template drawing it: each
    call of one render gets its own value, two renders of different templates with one
    seed differ, and the same render with the same seed gets the same values again
    (DESIGN.md invariant 10: the decider's renders replay exactly). Without a seed the
    draws are fresh randomness; only callers whose result is recorded in an event before
    the decider sees it may render that way (trigger inputs and conditions in the API and
    the scheduler end up in an ExecutionRequested; a worker's outputs in a WorkerTaskResult).
    The decider always gives a seed (`ostinato.decider.context`).
    """

    __slots__ = ("seed", "count")

    def __init__(self, seed: Any = None) -> None:
        self.seed: str | None = None if seed is None else str(seed)
        self.count = 0

    def next_bytes(self, template: str) -> bytes:
        """32 bytes for the next draw of this render, made in `template`."""
        if self.seed is None:
            return os.urandom(32)
        self.count += 1
        material = f"{self.seed}\x00{self.count}\x00{template}".encode()
        return hashlib.sha256(material).digest()


@dataclass
class RenderState:
    variables: Mapping[str, Any]
    specials: dict[str, Any] = field(default_factory=dict)
    depth: int = 0
    #: shared by every string of one render_value() and by nested render() calls
    draws: Draws = field(default_factory=Draws)
    #: the template being rendered (it salts the draws)
    template: str = ""


def next_draw() -> bytes:
    """32 bytes for uuid()/randomInt(): see `Draws`."""
    state = current_state()
    return state.draws.next_bytes(state.template)


_STATE: ContextVar[RenderState | None] = ContextVar("ostinato_expression_state", default=None)


def current_state() -> RenderState:
    state = _STATE.get()
    if state is None:  # pragma: no cover - functions only run inside render()
        raise RuntimeError("expression function called outside of a render")
    return state


def state_var() -> ContextVar[RenderState | None]:
    return _STATE


def split_context(context: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    variables = {k: v for k, v in context.items() if k not in SPECIAL_KEYS}
    specials = {k: context[k] for k in SPECIAL_KEYS if k in context}
    return variables, specials


class _Present:
    """A defined left operand of ``??`` (always truthy, so ``or`` keeps it)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return True


def coalesce_wrap(value: Any) -> Any:
    """``??``: undefined and null both fall through to the right side."""
    if isinstance(value, Undefined) or value is None:
        return False
    return _Present(value)


def coalesce_wrap_undefined(value: Any) -> Any:
    """``???``: only undefined falls through; null is a value."""
    if isinstance(value, Undefined):
        return False
    return _Present(value)


def coalesce_unwrap(value: Any) -> Any:
    return value.value if isinstance(value, _Present) else value


@pass_environment
def lenient_getattr(env: Environment, obj: Any, name: str) -> Any:
    if isinstance(obj, Undefined):
        return obj
    return env.getattr(obj, name)


@pass_environment
def lenient_getitem(env: Environment, obj: Any, key: Any) -> Any:
    if isinstance(obj, Undefined):
        return obj
    if isinstance(key, Undefined):
        return key
    return env.getitem(obj, key)


@pass_context
def lenient_filter(ctx: Context, value: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    return ctx.environment.call_filter(name, value, args, kwargs, context=ctx)


def _numbers(op: str, left: Any, right: Any) -> None:
    for value in (left, right):
        check_defined(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"Unsupported operand type for `{op}`: {type(value).__name__} ({to_string(value)!r})"
            )


def multiply(left: Any, right: Any) -> Any:
    _numbers("*", left, right)
    check_product(left, right)
    return left * right


def divide(left: Any, right: Any) -> Any:
    """Java semantics: integer operands give a truncated integer quotient."""
    _numbers("/", left, right)
    if isinstance(left, int) and isinstance(right, int):
        if right == 0:
            raise ZeroDivisionError("/ by zero")
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if right == 0:
        return math.copysign(math.inf, left) if left else math.nan
    return left / right


def modulo(left: Any, right: Any) -> Any:
    """Java remainder: the sign follows the dividend."""
    _numbers("%", left, right)
    if isinstance(left, int) and isinstance(right, int):
        if right == 0:
            raise ZeroDivisionError("/ by zero")
        remainder = abs(left) % abs(right)
        return remainder if left >= 0 else -remainder
    return math.fmod(left, right)


def concat(left: Any, right: Any) -> str:
    return check_size(to_string(left) + to_string(right), "`~`")  # type: ignore[no-any-return]


def contains(container: Any, item: Any) -> bool:
    check_defined(container)
    check_defined(item)
    if container is None:
        return False
    if isinstance(container, str):
        return to_string(item) in container
    if isinstance(container, Mapping):
        if isinstance(item, (list, tuple)):
            return all(i in container for i in item)
        return item in container
    if isinstance(container, (list, tuple, set, frozenset)):
        if isinstance(item, (list, tuple)):
            return all(i in container for i in item)
        return item in container
    raise TypeError(f"`contains` is not supported on {type(container).__name__}")


def inclusive_range(start: Any, end: Any, step: Any = 1) -> list[int]:
    """Pebble ``range``/``..``: both ends included."""
    for value in (start, end, step):
        check_defined(value)
    if step == 0:
        raise ValueError("range() step cannot be 0")
    stop = int(end) + (1 if step > 0 else -1)
    values = range(int(start), stop, int(step))
    if len(values) > MAX_RANGE:
        raise ValueError(f"range() of {len(values)} items exceeds the limit of {MAX_RANGE}")
    return list(values)


def iterate(value: Any) -> Any:
    """What a Pebble ``for`` loops over: maps give entries with key/value."""
    check_defined(value)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return TimedLoop([{"key": k, "value": v} for k, v in value.items()])
    if isinstance(value, (list, tuple, set, frozenset, range)):
        return TimedLoop(value)  # every item checks the render's deadline
    raise TypeError(f"Not an iterable object. Value = [{to_string(value)}]")


HELPERS: dict[str, Callable[..., Any]] = {
    "__ncw": coalesce_wrap,
    "__ncwu": coalesce_wrap_undefined,
    "__ncu": coalesce_unwrap,
    "__get": lenient_getattr,
    "__getitem": lenient_getitem,
    "__lf": lenient_filter,
    "__mul": multiply,
    "__div": divide,
    "__mod": modulo,
    "__concat": concat,
    "__contains": contains,
    "__range": inclusive_range,
    "__iter": iterate,
}
