"""The Jinja2 environment Pebble templates are compiled into.

An ImmutableSandboxedEnvironment with a strict Undefined that remembers the
missing name, map-first attribute lookup (``outputs.items`` is the task
``items``, never ``dict.items``), Kestra printing and Kestra's filters,
tests and functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from ._budget import check_deadline, check_length, guard_filter
from ._data import DATA_FILTERS, TESTS
from ._errors import ExpressionError
from ._filters import FILTERS
from ._functions import DATE_FILTERS, FUNCTIONS
from ._pebble import translate
from ._runtime import HELPERS
from ._values import finalize

TEMPLATE_CACHE_SIZE = 4096
#: Jinja filters that are not Pebble's and can allocate without bound from one argument
#: (center(10**9), '%0999999999d'|format) or are not deterministic (random)
_REMOVED_FILTERS = (
    "center", "format", "random", "pprint", "urlize", "wordwrap", "xmlattr", "tojson",
)
#: Jinja globals that are not Pebble's: text generators and mutable state
_REMOVED_GLOBALS = ("lipsum", "cycler", "joiner", "namespace")


class MissingVariable(UndefinedError):
    """A variable, attribute or key a template used does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class KestraUndefined(StrictUndefined):
    """StrictUndefined whose error carries the bare missing name."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = MissingVariable,
    ) -> None:
        super().__init__(hint, obj, name, exc)  # type: ignore[arg-type]

    @property
    def _undefined_message(self) -> str:
        if self._undefined_exception is MissingVariable and self._undefined_name is not None:
            return str(self._undefined_name)
        return str(super()._undefined_message)


class KestraEnvironment(ImmutableSandboxedEnvironment):
    """Maps are looked up by key only, for both ``a.b`` and ``a['b']``.

    Every call (function, macro, method) checks the render's deadline, and ``+`` cannot
    build a string or list over the render output limit."""

    intercepted_binops = frozenset(["+"])

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        check_deadline()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            check_length(len(left) + len(right), "`+`")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            return self._lookup(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping):
            return self._lookup(obj, argument)
        return super().getitem(obj, argument)

    def _lookup(self, obj: Mapping[Any, Any], key: Any) -> Any:
        if isinstance(key, Undefined):
            key._fail_with_undefined_error()
        try:
            return obj[key]
        except (KeyError, TypeError):
            return self.undefined(obj=obj, name=key)


def _build() -> KestraEnvironment:
    env = KestraEnvironment(
        undefined=KestraUndefined,
        finalize=finalize,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    env.filters.update(DATA_FILTERS)
    env.filters.update(DATE_FILTERS)
    for name in _REMOVED_FILTERS:
        env.filters.pop(name, None)
    # every filter, Jinja's own included: budget checks, and never folded at compile time
    env.filters = {name: guard_filter(name, f) for name, f in env.filters.items()}
    env.tests.update(TESTS)
    for name in _REMOVED_GLOBALS:
        env.globals.pop(name, None)
    env.globals.update(FUNCTIONS)
    env.globals.update(HELPERS)
    return env


ENV = _build()


def syntax_error(error: TemplateSyntaxError, source: str) -> ExpressionError:
    return ExpressionError(f"{error.message} in the expression `{source}` at line {error.lineno}")


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def compile_template(source: str) -> Template:
    """The compiled template for Pebble ``source`` (LRU-cached by text)."""
    jinja_source = translate(source)
    try:
        return ENV.from_string(jinja_source)
    except TemplateSyntaxError as error:
        raise syntax_error(error, source) from None
