"""Functions: json/yaml, uuid, randomInt, range, max/min, render, secrets, files ..."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ostinato.expressions import ExpressionError, referenced_variables, render, render_value


def r(template: str, **context: Any) -> str:
    return render(template, context)


def test_json_and_yaml_parse() -> None:
    assert r("{{ json('{\"a\": [1, 2]}').a[1] }}") == "2"
    assert r("{{ fromJson(s) }}", s='{"k":"v"}') == '{"k":"v"}'
    assert r("{{ yaml('k: v').k }}") == "v"


def test_uuid_and_random_int() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", r("{{ uuid() }}"))
    assert r("{{ randomInt(4, 5) }}") == "4"
    assert 1 <= int(r("{{ randomInt(1, 10) }}")) < 10


UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
DRAWS = "{{ uuid() }} {{ uuid() }} {{ randomInt(0, 1000000) }} {{ randomInt(0, 1000000) }}"


def test_seeded_draws_repeat_for_the_same_seed_and_differ_between_calls() -> None:
    first = r(DRAWS, __seed__="execution-1/run-1/1")
    assert r(DRAWS, __seed__="execution-1/run-1/1") == first
    uuid_a, uuid_b, int_a, int_b = first.split(" ")
    assert UUID4.fullmatch(uuid_a) and UUID4.fullmatch(uuid_b)
    assert uuid_a != uuid_b and int_a != int_b
    assert r(DRAWS, __seed__="execution-1/run-1/2") != first


def test_unseeded_draws_are_fresh() -> None:
    assert r(DRAWS) != r(DRAWS)
    assert UUID4.fullmatch(r("{{ uuid() }}"))


def test_seeded_random_int_stays_within_its_bounds() -> None:
    seen = {int(r("{{ randomInt(-3, 4) }}", __seed__=f"seed-{i}")) for i in range(300)}
    assert seen == set(range(-3, 4))  # every value of [lower, upper), none outside
    assert r("{{ randomInt(7, 8) }}", __seed__="any") == "7"
    with pytest.raises(ExpressionError, match="upper"):
        r("{{ randomInt(5, 5) }}", __seed__="any")


def test_one_render_value_draws_once_per_call_across_its_strings() -> None:
    value = {"a": "{{ uuid() }}", "b": "{{ uuid() }}", "c": ["{{ uuid() }}"]}
    context = {"__seed__": "s"}
    rendered = render_value(value, context)
    assert len({rendered["a"], rendered["b"], rendered["c"][0]}) == 3
    assert render_value(value, context) == rendered


def test_nested_render_continues_the_draws_of_its_render() -> None:
    rendered = r("{{ uuid() }} {{ render(t) }}", t="{{ uuid() }}", __seed__="s")
    outer, inner = rendered.split(" ")
    assert outer != inner
    assert r("{{ uuid() }} {{ render(t) }}", t="{{ uuid() }}", __seed__="s") == rendered


def test_different_templates_with_one_seed_draw_differently() -> None:
    assert r("{{ uuid() }}", __seed__="s") != r("x{{ uuid() }}", __seed__="s")[1:]


def test_the_seed_cannot_be_read_by_a_template_and_travels_with_random_functions() -> None:
    with pytest.raises(ExpressionError):
        r("{{ __seed__ }}", __seed__="secret-ish")
    assert "__seed__" in referenced_variables("{{ uuid() }}")
    assert "__seed__" in referenced_variables("{{ randomInt(1, 2) }}")
    assert "__seed__" not in referenced_variables("{{ now() }}")


def test_range_is_inclusive() -> None:
    assert r("{{ range(1, 3) }} {{ range(0, 10, 5) }} {{ range(3, 1, -1) }}") == "[1,2,3] [0,5,10] [3,2,1]"
    assert r("{% for i in range(1, 3) %}{{ i }}{% endfor %}") == "123"


def test_range_is_bounded() -> None:
    with pytest.raises(ExpressionError, match="exceeds the limit"):
        r("{{ range(1, 10000000) | length }}")


def test_max_min() -> None:
    assert r("{{ max(1, 7, 3) }} {{ min(4, 2, 9) }}") == "7 2"


def test_render_non_string_is_returned_as_is() -> None:
    assert r("{{ render(m) }}", m={"a": 1}) == '{"a":1}'
    assert r("{{ render('plain') }}") == "plain"


def test_render_uses_the_same_context_and_specials() -> None:
    assert r("{{ render(t) }}", t="{{ secret('k') }}", __secrets__={"k": "s3cr3t"}) == "s3cr3t"


def test_render_that_never_settles_fails() -> None:
    # Each round prints a template that renders to itself plus one more level.
    with pytest.raises(ExpressionError):
        r("{{ render(t) }}", t="{{ '{{' }} render(t) {{ '}}' }}")


def test_render_reports_the_inner_undefined() -> None:
    with pytest.raises(ExpressionError, match="Unable to find `nope`"):
        r("{{ render(t) }}", t="{{ nope }}")


def test_current_each_output_walks_the_iteration_values() -> None:
    outputs = {"1-1-1_output": {"v11": {"v21": {"v31": {"value": "x"}}}}}
    context = {"outputs": outputs, "__each_values__": ["v11", "v21", "v31"]}
    assert render("{{ currentEachOutput(outputs['1-1-1_output']).value }}", context) == "x"
    partial = {"outputs": outputs, "__each_values__": ["v11", "nope", "v31"]}
    assert render("{{ currentEachOutput(outputs['1-1-1_output']) }}", partial) == '{"v21":{"v31":{"value":"x"}}}'
    assert render("return-{{ currentEachOutput(outputs['2-1_output']).value }}",
                  {"outputs": {"2-1_output": {"a": {"value": 1}}}, "__each_values__": ["a"]}) == "return-1"


def test_error_logs() -> None:
    logs = [{"taskId": "t", "message": "m", "level": "ERROR"}]
    assert r("{{ errorLogs() | length }} {{ errorLogs()[0].level }}", __error_logs__=logs) == "1 ERROR"
    assert r("{{ errorLogs() }}") == "[]"


def test_secret() -> None:
    assert r("{{ secret('TOKEN') }}", __secrets__={"TOKEN": "abc"}) == "abc"
    with pytest.raises(ExpressionError, match="Cannot find secret for key 'OTHER'"):
        r("{{ secret('OTHER') }}", __secrets__={"TOKEN": "abc"})
    with pytest.raises(ExpressionError, match="Cannot find secret for key 'TOKEN'"):
        r("{{ secret('TOKEN') }}")


def test_read_and_file_functions() -> None:
    files = {"kestra:///a.txt": "héllo", "kestra:///empty": ""}
    reader = files.__getitem__
    assert r("{{ read('kestra:///a.txt') }}", __read__=reader) == "héllo"
    assert r("{{ fileSize('kestra:///a.txt') }}", __read__=reader) == "6"
    assert r("{{ isFileEmpty('kestra:///empty') }} {{ isFileEmpty('kestra:///a.txt') }}", __read__=reader) == "true false"
    with pytest.raises(ExpressionError, match="read"):
        r("{{ read('kestra:///a.txt') }}")


def test_unknown_function() -> None:
    with pytest.raises(ExpressionError, match="Unable to find `noSuchFunction`"):
        r("{{ noSuchFunction('KEY') }}")


def test_kv_outside_a_worker_render_says_where_it_is_available() -> None:
    with pytest.raises(ExpressionError, match="kv\\(\\) is only available in task properties"):
        r("{{ kv('KEY') }}")
