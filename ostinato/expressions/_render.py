"""render / render_value / is_truthy / referenced_variables."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError

from ostinato.sandbox.limits import SETTINGS, BudgetExceeded, limits

from ._budget import (
    ExpressionLimitError,
    RenderTimeLimit,
    end_budget,
    start_budget,
    time_limit_message,
)
from ._environment import ENV, MissingVariable, compile_template, syntax_error
from ._errors import ExpressionError
from ._pebble import translate
from ._runtime import Draws, RenderState, current_state, split_context, state_var

#: the default of the render output limit (`Limits.render_max_output`)
MAX_RENDERED_BYTES = 10 * 1024 * 1024
MAX_NESTING = 20
_MARKERS = ("{{", "{%", "{#")
# Functions that read a caller-supplied key rather than a template variable.
_FUNCTION_KEYS = {
    "now": "__now__",
    "uuid": "__seed__",
    "randomInt": "__seed__",
    "currentEachOutput": "__each_values__",
    "errorLogs": "__error_logs__",
    "secret": "__secrets__",
    "read": "__read__",
    "fileSize": "__read__",
    "isFileEmpty": "__read__",
}
_FALSE_VALUES = frozenset({"false", "0", "-0", ""})


def has_expression(text: str) -> bool:
    return any(marker in text for marker in _MARKERS)


def _line(error: BaseException) -> int:
    line = 1
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<template>" and frame.lineno:
            line = frame.lineno
    return line


def _too_large(size: int, cap: int) -> ExpressionError:
    return ExpressionLimitError(
        f"Rendered expression is too large: {size} bytes, the limit is {cap} bytes "
        f"({SETTINGS['render_max_output']})"
    )


def _over_time(template: str) -> ExpressionError:
    return ExpressionLimitError(
        f"rendering the expression `{_excerpt(template)}` exceeded {time_limit_message()}"
    )


def _excerpt(template: str, width: int = 200) -> str:
    return template if len(template) <= width else template[:width] + "…"


def _render(template: str, variables: Mapping[str, Any], specials: dict[str, Any], depth: int,
            draws: Draws) -> str:
    if not has_expression(template):
        return template
    if depth > MAX_NESTING:
        raise ExpressionError(f"render() nested more than {MAX_NESTING} levels deep: `{template}`")
    compiled = compile_template(template)
    cap = limits().render_max_output
    budget = start_budget()
    token = state_var().set(RenderState(variables, specials, depth, draws, template))
    try:
        parts: list[str] = []
        size = 0
        for chunk in compiled.generate(variables):
            size += len(chunk)
            if size > cap:
                raise _too_large(size, cap)
            parts.append(chunk)
        result = "".join(parts)
    except ExpressionError:
        raise
    except RenderTimeLimit:
        raise _over_time(template) from None
    except BudgetExceeded as error:  # jq's limits, a forbidden jq builtin
        raise ExpressionLimitError(f"{error} in the expression `{_excerpt(template)}`") from None
    except (MemoryError, RecursionError) as error:
        raise ExpressionLimitError(
            f"{type(error).__name__} in the expression `{_excerpt(template)}`"
        ) from None
    except MissingVariable as error:
        raise ExpressionError(
            f"Unable to find `{error.name}` used in the expression `{template}` at line {_line(error)}"
        ) from None
    except TemplateSyntaxError as error:
        raise syntax_error(error, template) from None
    except (SecurityError, TemplateError) as error:
        raise ExpressionError(
            f"{error.message or error} in the expression `{template}` at line {_line(error)}"
        ) from None
    except Exception as error:  # noqa: BLE001 - any failure of a template is the user's
        raise ExpressionError(
            f"{type(error).__name__}: {error} in the expression `{template}` at line {_line(error)}"
        ) from None
    finally:
        state_var().reset(token)
        end_budget(budget)
    if len(result) * 4 > cap:  # only long results can be over the cap once encoded
        size = len(result.encode("utf-8"))
        if size > cap:
            raise _too_large(size, cap)
    return result


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render a Pebble template once with ``context``; the output is not re-rendered.

    uuid() and randomInt() draw from ``context["__seed__"]`` when given: the same
    template and seed render the same values again."""
    if not has_expression(template):
        return template
    variables, specials = split_context(context)
    return _render(template, variables, specials, 0, Draws(specials.get("__seed__")))


def render_nested(template: str) -> str:
    """Render ``template`` with the variables of the render in progress (render())."""
    state = current_state()
    return _render(template, state.variables, state.specials, state.depth + 1, state.draws)


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render strings; recurse into dicts (keys holding ``{{`` too) and lists.

    The whole value is one render: its uuid()/randomInt() calls draw one after the other
    from ``context["__seed__"]``, so two strings of one value never repeat each other."""
    variables, specials = split_context(context)
    draws = Draws(specials.get("__seed__"))

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _render(item, variables, specials, 0, draws) if has_expression(item) else item
        if isinstance(item, Mapping):
            return {
                (walk(k) if isinstance(k, str) and "{{" in k else k): walk(v)
                for k, v in item.items()
            }
        if isinstance(item, (list, tuple)):
            return [walk(element) for element in item]
        return item

    budget = start_budget()  # one time budget for the whole value
    try:
        return walk(value)
    finally:
        end_budget(budget)


def is_truthy(rendered: str | None) -> bool:
    """Kestra's TruthUtils: false for None, 'false', '0', '-0' and blank."""
    return rendered is not None and rendered.strip().lower() not in _FALSE_VALUES


def referenced_variables(template: str) -> set[str]:
    """Top-level context names ``template`` uses, plus the special keys
    (``__now__``, ``__secrets__`` ...) of the functions it calls.

    A template calling render()/renderOnce() can reach any variable through the
    rendered text; that is not visible here."""
    if not has_expression(template):
        return set()
    jinja_source = translate(template)
    try:
        tree = ENV.parse(jinja_source)
    except TemplateSyntaxError as error:
        raise syntax_error(error, template) from None
    result = {name for name in meta.find_undeclared_variables(tree) if name not in ENV.globals}
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in _FUNCTION_KEYS:
            result.add(_FUNCTION_KEYS[call.node.name])
    return result
