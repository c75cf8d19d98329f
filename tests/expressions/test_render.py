"""render(): the Kestra cases, printing, undefined messages, errors, limits."""

from __future__ import annotations

import pytest

from ostinato.expressions import MAX_RENDERED_BYTES, ExpressionError, render
from ostinato.expressions._environment import compile_template


def test_null_coalescing_missing_output_gives_right_side() -> None:
    assert render("{{ outputs.not_existing ?? '' }}", {"outputs": {}}) == ""


def test_bracket_access_to_empty_string() -> None:
    assert render("{{ inputs['emptyKey']['foo'] }}", {"inputs": {"emptyKey": {"foo": ""}}}) == ""


def test_coalescing_chain_undefined_anywhere_on_the_left() -> None:
    template = "{{ outputs.default.value ?? outputs['error-t1'].value }}"
    assert render(template, {"outputs": {"error-t1": {"value": "E"}}}) == "E"
    assert render(template, {"outputs": {"default": {"value": "D"}}}) == "D"


def test_coalescing_right_side_undefined_is_an_error() -> None:
    template = "{{ outputs.default.value ?? outputs['error-t1'].value }}"
    with pytest.raises(ExpressionError) as info:
        render(template, {"outputs": {"t1": {"value": "x"}}})
    assert "Unable to find `error-t1` used in the expression" in str(info.value)


def test_is_json_test() -> None:
    assert render("{{ taskrun.value is json }}", {"taskrun": {"value": '{"a":1}'}}) == "true"
    assert render("{{ taskrun.value is json }}", {"taskrun": {"value": "value 1"}}) == "false"
    assert render("{{ taskrun.value is json }}", {"taskrun": {"value": "[1, 2]"}}) == "true"
    assert render("{{ taskrun.value is json }}", {"taskrun": {"value": "{broken"}}) == "false"


def test_jq_on_json_string() -> None:
    context = {"parent": {"taskrun": {"value": '{"key":"my-complex","value":{"sub":1}}'}}}
    assert render("{{ parent.taskrun.value | jq('.key') }}", context) == '["my-complex"]'
    assert render("{{ parent.taskrun.value | jq('.value') }}", context) == '[{"sub":1}]'


def test_equals_operator() -> None:
    assert render("{{ taskrun.value equals 'value 2' }}", {"taskrun": {"value": "value 2"}}) == "true"
    assert render("{{ taskrun.value equals 'value 2' }}", {"taskrun": {"value": "value 1"}}) == "false"


def test_ternary_is_lazy() -> None:
    template = "{{ parent.taskrun.value == 'value 1' ? 'ok' : ko }}"
    assert render(template, {"parent": {"taskrun": {"value": "value 1"}}}) == "ok"
    with pytest.raises(ExpressionError, match="Unable to find `ko`"):
        render(template, {"parent": {"taskrun": {"value": "value 2"}}})


def test_ternary_on_attempts_count() -> None:
    template = "{{ taskrun.attemptsCount == 3 ? 'ok' : ko}}"
    assert render(template, {"taskrun": {"attemptsCount": 3}}) == "ok"
    with pytest.raises(ExpressionError, match="Unable to find `ko`"):
        render(template, {"taskrun": {"attemptsCount": 1}})


def test_render_function_recurses_until_stable() -> None:
    context = {"vars": {"first": "1", "second": "{{vars.first}} > 2", "third": "{{vars.second}} > 3"}}
    assert render("{{ render(vars.third) }}", context) == "1 > 2 > 3"
    assert render("{{render(vars.third)}}", context) == "1 > 2 > 3"


def test_output_is_never_re_rendered() -> None:
    context = {"vars": {"first": "1", "second": "{{vars.first}} > 2"}}
    assert render("{{ vars.second }}", context) == "{{vars.first}} > 2"


def test_render_once_renders_a_single_time() -> None:
    context = {"vars": {"first": "1", "second": "{{vars.first}} > 2", "third": "{{vars.second}} > 3"}}
    assert render("{{ renderOnce(vars.third) }}", context) == "{{vars.first}} > 2 > 3"


def test_maps_and_lists_print_as_compact_json() -> None:
    assert render("{{ outputs.return }}", {"outputs": {"return": {"value": "x"}}}) == '{"value":"x"}'
    assert render("{{ items }}", {"items": [1, "a", None, True, {"é": 1.5}]}) == '[1,"a",null,true,{"é":1.5}]'


def test_scalars_print_like_kestra() -> None:
    context = {"n": None, "t": True, "f": False, "pi": 42.42, "one": 1.0, "i": 7, "big": 1e20, "tiny": 1e-5}
    assert render("[{{ n }}]", context) == "[]"
    assert render("{{ t }} {{ f }}", context) == "true false"
    assert render("{{ pi }} {{ one }} {{ i }}", context) == "42.42 1.0 7"
    assert render("{{ big }} {{ tiny }}", context) == "1.0E20 1.0E-5"
    assert render("{{ 12345678.9 }}", {}) == "1.23456789E7"


def test_error_logs_loop() -> None:
    template = (
        "{%- for log in errorLogs() -%}\n- task: {{ log.taskId }}, message: {{ log.message }}\n"
        "{%- endfor -%}"
    )
    context = {"__error_logs__": [{"taskId": "failed", "message": "Task failure"}]}
    assert render(template, context) == "- task: failed, message: Task failure"
    assert render(template, {}) == ""


def test_parents_by_index() -> None:
    context = {"parents": [{"taskrun": {"value": "a"}}, {"taskrun": {"value": "b"}}]}
    assert render("{{ parents[0].taskrun.value }} {{ parents[1].taskrun.value }}", context) == "a b"


def test_undefined_root_message() -> None:
    with pytest.raises(ExpressionError) as info:
        render("{{inputs.invalid}}", {})
    assert "Unable to find `inputs` used in the expression `{{inputs.invalid}}`" in str(info.value)
    assert "at line 1" in str(info.value)


def test_undefined_attribute_names_the_attribute() -> None:
    with pytest.raises(ExpressionError) as info:
        render("{{ outputs.t1.value }}", {"outputs": {}})
    assert "Unable to find `t1` used in the expression `{{ outputs.t1.value }}`" in str(info.value)


def test_undefined_reports_the_line() -> None:
    with pytest.raises(ExpressionError, match="at line 3"):
        render("a\nb\n{{ missing }}", {})


def test_mixed_blocks_inside_an_expression_raise_expression_error() -> None:
    template = (
        "{{parents[0].taskrun.value == 'CUMULATIVE' and {% for entry in json(taskrun.value) %}"
        "{{ entry.key }}{% endfor %}== 'NEW_MONTH'}}"
    )
    with pytest.raises(ExpressionError) as info:
        render(template, {"parents": [{"taskrun": {"value": "CUMULATIVE"}}], "taskrun": {"value": "{}"}})
    assert template in str(info.value)


@pytest.mark.parametrize(
    "template",
    ["{{ }}", "{{ a + }}", "{{ a", "{% if %}", "{{ 'unclosed }}", "{{ a ? b }}", "{{ x | }}", "{% for x %}{% endfor %}"],
)
def test_syntax_errors_are_expression_errors(template: str) -> None:
    with pytest.raises(ExpressionError) as info:
        render(template, {"a": 1, "x": 1})
    assert template in str(info.value)


def test_runtime_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="by zero"):
        render("{{ 1 / 0 }}", {})
    with pytest.raises(ExpressionError, match="No filter named 'nope'"):
        render("{{ 1 | nope }}", {})
    with pytest.raises(ExpressionError, match="not a valid number"):
        render("{{ 'abc' | number }}", {})


def test_text_without_expression_is_returned_unchanged() -> None:
    text = "no expression { here } %} #}"
    assert render(text, {}) is text


def test_dict_keys_with_dash_and_bracket_access() -> None:
    context = {"outputs": {"my-task": {"value": 1}, "t": {"value": 2}}}
    assert render("{{ outputs['my-task'].value }} {{ outputs['t']['value'] }} {{ outputs.t.value }}", context) == "1 2 2"


def test_map_keys_shadow_dict_methods() -> None:
    context = {"outputs": {"items": {"value": "i"}, "keys": 1}}
    assert render("{{ outputs.items.value }} {{ outputs.keys }}", context) == "i 1"
    with pytest.raises(ExpressionError, match="Unable to find `values`"):
        render("{{ outputs.values }}", context)


def test_special_keys_are_not_template_variables() -> None:
    with pytest.raises(ExpressionError, match="Unable to find `__secrets__`"):
        render("{{ __secrets__ }}", {"__secrets__": {"a": "b"}})


def test_output_size_is_capped() -> None:
    big = "x" * (MAX_RENDERED_BYTES // 2 + 1)
    assert render("{{ a }}", {"a": big}) == big
    with pytest.raises(ExpressionError, match="too large"):
        render("{{ a }}{{ a }}", {"a": big})


def test_templates_are_cached() -> None:
    template = "{{ cache_probe }}"
    assert render(template, {"cache_probe": 1}) == "1"
    before = compile_template.cache_info().hits
    assert render(template, {"cache_probe": 2}) == "2"
    assert compile_template.cache_info().hits == before + 1


def test_trailing_newline_is_kept() -> None:
    assert render("{{ a }}\n", {"a": 1}) == "1\n"


def test_kestra_globals_and_envs_are_plain_variables() -> None:
    context = {"globals": {"string": "s", "nested": {"int": 3}}, "envs": {"test1": "e"}}
    assert render("{{globals.string}} {{globals.nested.int}} {{envs.test1}}", context) == "s 3 e"
    assert render("{{trigger | json }}", {"trigger": {"state": "SUCCESS"}}) == '{"state":"SUCCESS"}'
