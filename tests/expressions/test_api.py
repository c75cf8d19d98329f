"""render_value, is_truthy, referenced_variables."""

from __future__ import annotations

import pytest

from ostinato.expressions import (
    ExpressionError,
    is_truthy,
    referenced_variables,
    render_value,
)


def test_render_value_recurses() -> None:
    context = {"inputs": {"a": "A", "n": 1}}
    value = {"k": "{{ inputs.a }}", "{{ inputs.a }}-key": ["{{ inputs.n }}", 3, None], "plain {key}": True}
    assert render_value(value, context) == {"k": "A", "A-key": ["1", 3, None], "plain {key}": True}
    assert render_value(5, context) == 5
    assert render_value(("{{ inputs.a }}",), context) == ["A"]


@pytest.mark.parametrize("text", [None, "false", "FALSE", " False ", "0", "-0", "", "   "])
def test_falsy(text: str | None) -> None:
    assert is_truthy(text) is False


@pytest.mark.parametrize("text", ["true", "1", "yes", "no", "0.0", "anything"])
def test_truthy(text: str) -> None:
    assert is_truthy(text) is True


def test_referenced_variables() -> None:
    assert referenced_variables("no expression") == set()
    assert referenced_variables("{{ outputs.t1.value ?? inputs['x'] }}") == {"outputs", "inputs"}
    template = "{% set y = vars.a %}{% for l in errorLogs() %}{{ l.message }}{{ loop.index }}{{ y }}{% endfor %}"
    assert referenced_variables(template) == {"vars", "__error_logs__"}
    assert referenced_variables("{{ now() }} {{ secret('a') }} {{ read(x) }}") == {"__now__", "__secrets__", "__read__", "x"}
    assert referenced_variables("{{ currentEachOutput(outputs.a) | json }}") == {"outputs", "__each_values__"}


def test_referenced_variables_syntax_error() -> None:
    with pytest.raises(ExpressionError):
        referenced_variables("{{ a ? }}")
