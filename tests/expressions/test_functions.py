"""Functions: json/yaml, uuid, randomInt, range, max/min, render, secrets, files ..."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ostinato.expressions import ExpressionError, render


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
    with pytest.raises(ExpressionError, match="Unable to find `kv`"):
        r("{{ kv('KEY') }}")
