"""Pebble operators and tags translated to Jinja."""

from __future__ import annotations

from typing import Any

import pytest

from ostinato.expressions import ExpressionError, render

CONTEXT: dict[str, Any] = {
    "outputs": {"t1": {"value": "v1", "none": None}, "list": [1, 2, 3]},
    "inputs": {"name": "world", "n": 5},
    "nothing": None,
}


def r(template: str, **extra: Any) -> str:
    return render(template, {**CONTEXT, **extra})


class TestCoalescing:
    def test_defined_left_side_wins(self) -> None:
        assert r("{{ outputs.t1.value ?? 'd' }}") == "v1"

    def test_null_left_side_falls_through(self) -> None:
        assert r("{{ outputs.t1.none ?? 'd' }}") == "d"
        assert r("{{ nothing ?? 'd' }}") == "d"

    def test_undefined_root(self) -> None:
        assert r("{{ unknown ?? 'd' }}") == "d"
        assert r("{{ unknown.deep.chain ?? 'd' }}") == "d"

    def test_bracket_and_index_chains(self) -> None:
        assert r("{{ outputs['nope'].value ?? 'd' }}") == "d"
        assert r("{{ outputs.list[7] ?? 'd' }}") == "d"
        assert r("{{ outputs.list[1] ?? 'd' }}") == "2"

    def test_undefined_key_expression_counts_as_undefined(self) -> None:
        assert r("{{ outputs[missing].value ?? 'd' }}") == "d"
        assert r("{{ outputs[inputs.key].value ?? 'd' }}", inputs={"key": "t1"}) == "v1"

    def test_chained(self) -> None:
        assert r("{{ a ?? b ?? 'c' }}") == "c"
        assert r("{{ a ?? outputs.t1.value ?? 'c' }}") == "v1"

    def test_right_side_is_lazy(self) -> None:
        assert r("{{ outputs.t1.value ?? missing.right }}") == "v1"

    def test_right_side_undefined_fails(self) -> None:
        with pytest.raises(ExpressionError, match="Unable to find `right`"):
            r("{{ missing ?? right }}")

    def test_filter_on_the_left_is_skipped_when_undefined(self) -> None:
        assert r("{{ missing.x | upper ?? 'd' }}") == "d"
        assert r("{{ outputs.t1.value | upper ?? 'd' }}") == "V1"

    def test_binds_tighter_than_filters_and_concat(self) -> None:
        assert r("{{ missing ?? 'd' | upper }}") == "D"
        assert r("{{ 'x' ~ missing ?? 'd' }}") == "xd"

    def test_undefined_coalescing_keeps_null(self) -> None:
        assert r("{{ missing ??? 'd' }}") == "d"
        assert r("[{{ nothing ??? 'd' }}]") == "[]"
        assert r("{{ outputs.t1.none ??? 'd' }}") == ""

    def test_inside_an_if_tag(self) -> None:
        assert r("{% if (missing ?? false) %}yes{% else %}no{% endif %}") == "no"


class TestTernary:
    def test_branches(self) -> None:
        assert r("{{ inputs.n > 3 ? 'big' : 'small' }}") == "big"
        assert r("{{ inputs.n > 9 ? 'big' : 'small' }}") == "small"

    def test_nested(self) -> None:
        assert r("{{ inputs.n > 9 ? 'a' : inputs.n > 3 ? 'b' : 'c' }}") == "b"

    def test_inside_parentheses_and_arguments(self) -> None:
        assert r("{{ (true ? 1 : 2) + 1 }}") == "2"
        assert r("{{ max(true ? 1 : 2, 0) }}") == "1"


class TestComparisonsAndLogic:
    def test_equality(self) -> None:
        assert r("{{ inputs.name == 'world' }} {{ inputs.name != 'world' }}") == "true false"
        assert r("{{ inputs.n equals 5 }}") == "true"
        assert r("{{ 1 == 1.0 }}") == "true"

    def test_ordering(self) -> None:
        assert r("{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 4 >= 5 }}") == "true true false false"

    def test_boolean_operators(self) -> None:
        assert r("{{ true and false }} {{ true or false }} {{ not true }}") == "false true false"
        assert r("{{ not false and true }}") == "true"
        assert r("{{ inputs.failed == false }}", inputs={"failed": False}) == "true"

    def test_contains(self) -> None:
        assert r("{{ outputs.list contains 2 }} {{ outputs.list contains 9 }}") == "true false"
        assert r("{{ 'hello world' contains 'lo w' }}") == "true"
        assert r("{{ outputs contains 't1' }} {{ outputs contains 'x' }}") == "true false"
        assert r("{{ outputs.list contains [1, 3] }}") == "true"
        assert r("{{ nothing contains 1 }}") == "false"


class TestTests:
    def test_defined(self) -> None:
        assert r("{{ inputs.name is defined }} {{ inputs.crash is defined }}") == "true false"
        assert r("{{ missing.deep is not defined }}") == "true"

    def test_null(self) -> None:
        assert r("{{ nothing is null }} {{ inputs.name is null }} {{ inputs.name is not null }}") == "true false true"

    def test_empty(self) -> None:
        assert r("{{ '' is empty }} {{ '  ' is empty }} {{ [] is empty }} {{ {} is empty }}") == "true true true true"
        assert r("{{ nothing is empty }} {{ 'a' is empty }} {{ outputs is not empty }}") == "true false true"

    def test_empty_on_undefined_is_strict(self) -> None:
        with pytest.raises(ExpressionError, match="Unable to find `missing`"):
            r("{{ missing is empty }}")

    def test_even_odd(self) -> None:
        assert r("{{ 2 is even }} {{ 3 is even }} {{ 3 is odd }}") == "true false true"

    def test_json(self) -> None:
        assert r("{{ '{\"a\": 1}' is json }} {{ 'nope' is json }} {{ 1 is json }}") == "true false false"

    def test_map_and_iterable(self) -> None:
        assert r("{{ outputs is map }} {{ outputs.list is iterable }} {{ 1 is map }}") == "true true false"


class TestArithmeticAndConcat:
    def test_precedence(self) -> None:
        assert r("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 10 - 2 - 3 }}") == "7 9 5"

    def test_java_division_and_remainder(self) -> None:
        assert r("{{ 7 / 2 }} {{ -7 / 2 }} {{ 7.0 / 2 }} {{ 7 % 3 }} {{ -7 % 3 }}") == "3 -3 3.5 1 -1"

    def test_unary(self) -> None:
        assert r("{{ -inputs.n }} {{ +3 }} {{ -(1 + 2) }}") == "-5 3 -3"

    def test_concat_uses_kestra_printing(self) -> None:
        assert r("{{ 'a' ~ 1 ~ true ~ nothing ~ 1.5 }}") == "a1true1.5"
        assert r("{{ 'l=' ~ outputs.list }}") == "l=[1,2,3]"

    def test_concat_binds_tighter_than_filters(self) -> None:
        assert r("{{ 'a' ~ 'b' | upper }}") == "AB"

    def test_range_operator(self) -> None:
        assert r("{{ 1..4 }}") == "[1,2,3,4]"

    def test_multiplying_text_is_rejected(self) -> None:
        with pytest.raises(ExpressionError, match="Unsupported operand"):
            r("{{ 'a' * 3 }}")

    def test_literals(self) -> None:
        assert r("{{ null }}|{{ none }}|{{ 3L }}|{{ [1, 'b'] }}|{{ {'k': 1} }}") == '||3|[1,"b"]|{"k":1}'

    def test_string_escapes_follow_pebble(self) -> None:
        assert r("{{ 'it\\'s' }} {{ \"say \\\"hi\\\"\" }} {{ 'a\\\\b' }} {{ 'a\\nb' }}") == "it's say \"hi\" a\\b a\\nb"

    def test_block_delimiters_inside_strings_and_maps(self) -> None:
        assert r("{{ '}}' }}") == "}}"
        assert r("{{ {'a': {'b': 1}} }}") == '{"a":{"b":1}}'


class TestTags:
    def test_if_elseif_else(self) -> None:
        template = "{% if inputs.n > 9 %}a{% elseif inputs.n > 3 %}b{% else %}c{% endif %}"
        assert r(template) == "b"

    def test_for_over_list_with_zero_based_loop_index(self) -> None:
        template = "{% for x in outputs.list %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}"
        assert r(template) == "0:1,1:2,2:3"

    def test_for_over_map_yields_entries(self) -> None:
        template = "{% for e in m %}{{ e.key }}={{ e.value }};{% endfor %}"
        assert r(template, m={"a": 1, "b": [2]}) == "a=1;b=[2];"

    def test_for_else_and_null(self) -> None:
        assert r("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty"
        assert r("{% for x in nothing %}x{% endfor %}") == ""

    def test_for_over_text_is_an_error(self) -> None:
        with pytest.raises(ExpressionError, match="Not an iterable"):
            r("{% for x in inputs.name %}{{ x }}{% endfor %}")

    def test_set(self) -> None:
        assert r("{% set total = inputs.n * 2 %}{{ total }}") == "10"

    def test_whitespace_control(self) -> None:
        assert r("a  {{- inputs.n -}}  b\n{%- if true %} c{% endif -%}\n") == "a5b c"

    def test_comments_and_raw(self) -> None:
        assert r("x{# hidden {{ nope }} #}y") == "xy"
        assert r("{% raw %}{{ kept }}{% endraw %}") == "{{ kept }}"
        assert r("{% verbatim %}{{ kept }}{% endverbatim %}") == "{{ kept }}"

    def test_line_numbers_survive_multiline_blocks(self) -> None:
        with pytest.raises(ExpressionError, match="at line 4"):
            r("{% if true\n%}\n{{ 1\n}}{{ missing }}{% endif %}")
