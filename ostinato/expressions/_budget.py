"""The budget of one render: a deadline and a size cap, checked from inside the render.

Why checks inside the render rather than a watchdog thread or a process: every way a
template can run long goes through a point we control (each item of a `for` loop
through `__iter`, each call of a function, macro or method through the sandbox's
`call`, each filter through `guard_filter`), and each stretch between two such points
does a bounded amount of work because every value it builds is bounded (`range`,
string and list sizes, integer sizes). So a check of the clock at those points stops a
render within milliseconds of its deadline, in its own thread, with nothing left
running and no exception ever raised into code outside the render (as an asynchronous
exception from a watchdog could be), at the cost of one clock read per check. jq, which
is C code that nothing can interrupt, runs in sandbox processes (`ostinato.sandbox`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2.utils import _PassArg

from ostinato.sandbox.limits import SETTINGS, describe_seconds, limits

from ._errors import ExpressionError

#: bits an integer a template computes may have (Java's BigInteger has no bound; a long has 64)
MAX_INT_BITS = 4096


class ExpressionLimitError(ExpressionError):
    """A render went over one of its budgets; the message names the limit and its setting."""


class RenderTimeLimit(Exception):
    """Internal: the deadline of the render in progress passed (turned into ExpressionLimitError)."""


_NO_DEADLINE = float("inf")
#: the deadline (time.monotonic()) of the render in progress in this thread / context
_DEADLINE: ContextVar[float] = ContextVar("ostinato_render_deadline", default=_NO_DEADLINE)


def start_budget() -> Token[float] | None:
    """Start the budget of an outermost render (None inside one: nested renders share it)."""
    if _DEADLINE.get() != _NO_DEADLINE:
        return None
    return _DEADLINE.set(time.monotonic() + limits().render_timeout)


def end_budget(token: Token[float] | None) -> None:
    """End the budget `start_budget` started."""
    if token is not None:
        _DEADLINE.reset(token)


def time_limit_message() -> str:
    seconds = limits().render_timeout
    return f"the template time limit of {describe_seconds(seconds)} ({SETTINGS['render_timeout']})"


def remaining_seconds() -> float | None:
    """Seconds left to the render in progress (None outside a render)."""
    deadline = _DEADLINE.get()
    return None if deadline == _NO_DEADLINE else deadline - time.monotonic()


def check_deadline() -> None:
    """Stop the render in progress if its deadline has passed."""
    if time.monotonic() > _DEADLINE.get():
        raise RenderTimeLimit


def check_length(length: int, what: str) -> None:
    """Refuse a string or collection of `length` items over the render output limit."""
    cap = limits().render_max_output
    if length > cap:
        raise ExpressionLimitError(
            f"{what} would build a value of {length} characters or items, more than the "
            f"limit of {cap} ({SETTINGS['render_max_output']})"
        )


def check_size(value: Any, what: str) -> Any:
    """`value`, unless it is a string or collection larger than the render output limit."""
    if isinstance(value, (str, list, dict, tuple, bytes)):
        check_length(len(value), what)
    return value


def check_written_size(value: Any) -> None:
    """Refuse a container whose JSON text (shared parts written out each time) would be
    longer than the render output limit; about one step per distinct container or item."""
    cap = limits().render_max_output
    sizes: dict[int, int] = {}

    def size(item: Any) -> int:
        if isinstance(item, str):
            return len(item) + 3
        if not isinstance(item, (list, tuple, dict)):
            return 8
        known = sizes.get(id(item))
        if known is not None:
            return known
        total = 2
        if isinstance(item, dict):
            for key, child in item.items():
                total += size(key) + size(child)
                if total > cap:
                    break
        else:
            for child in item:
                total += size(child)
                if total > cap:
                    break
        sizes[id(item)] = total
        return total

    written = size(value)
    if written > cap:
        raise ExpressionLimitError(
            f"a value of more than {cap} characters once written as JSON "
            f"(the limit, {SETTINGS['render_max_output']})"
        )


def check_product(left: Any, right: Any) -> None:
    """Refuse `left * right` when both are integers whose product could pass MAX_INT_BITS
    (checked before multiplying: one huge multiplication is C code nothing interrupts)."""
    if (isinstance(left, int) and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS):
        raise ExpressionLimitError(
            f"`*` would compute an integer of more than {MAX_INT_BITS} bits"
        )


class TimedLoop:
    """What a `for` loop iterates: the items of `items`, checking the deadline before each."""

    __slots__ = ("items",)

    def __init__(self, items: Any) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        deadline = _DEADLINE.get()
        clock = time.monotonic
        for item in self.items:
            if clock() > deadline:
                raise RenderTimeLimit
            yield item


def guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` as a filter that checks the deadline before and the size after it runs.

    Marked ``pass_context`` so Jinja never calls it while compiling: Jinja folds a filter
    applied to constants (``{} | jq('until(false; .)')``) at compile time, in whatever
    thread compiles, with no budget; a context filter is never folded."""
    passes = _PassArg.from_obj(function)
    what = f"the `{name}` filter"

    @pass_context
    def guarded(context: Context, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        if passes is _PassArg.context:
            result = function(context, *args, **kwargs)
        elif passes is _PassArg.eval_context:
            result = function(context.eval_ctx, *args, **kwargs)
        elif passes is _PassArg.environment:
            result = function(context.environment, *args, **kwargs)
        else:
            result = function(*args, **kwargs)
        return check_size(result, what)

    guarded.__name__ = getattr(function, "__name__", name)
    guarded.__doc__ = function.__doc__
    return guarded
