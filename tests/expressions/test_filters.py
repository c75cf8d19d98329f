"""Kestra and Pebble filters."""

from __future__ import annotations

from typing import Any

import pytest

from ostinato.expressions import ExpressionError, render


def r(template: str, **context: Any) -> str:
    return render(template, context)


class TestJson:
    def test_to_json(self) -> None:
        assert r("{{ m | toJson }}", m={"a": [1, None]}) == '{"a":[1,null]}'
        assert r("{{ m | json }}", m={"a": 1}) == '{"a":1}'
        assert r("{{ 'text' | toJson }}") == '"text"'
        assert r("{{ nothing | toJson }}", nothing=None) == "null"

    def test_from_json(self) -> None:
        assert r("{{ ('{\"a\": {\"b\": 2}}' | fromJson).a.b }}") == "2"
        assert r("{{ fromJson('[1, 2]') | length }}") == "2"
        assert r("{{ json(s).k }}", s='{"k": "v"}') == "v"

    def test_jq(self) -> None:
        assert r("{{ '{\"key\":\"k\"}' | jq('.key') }}") == '["k"]'
        assert r("{{ m | jq('.items[] | .id') }}", m={"items": [{"id": 1}, {"id": 2}]}) == "[1,2]"
        assert r("{{ (m | jq('.a') | first) + 1 }}", m={"a": 41}) == "42"

    def test_jq_errors(self) -> None:
        with pytest.raises(ExpressionError, match="jq"):
            r("{{ m | jq('.[') }}", m={})
        with pytest.raises(ExpressionError, match="Unable to parse jq value"):
            r("{{ 'not json' | jq('.') }}")

    def test_yaml(self) -> None:
        assert r("{{ m | yaml }}", m={"a": 1, "b": [1, 2]}) == "a: 1\nb:\n- 1\n- 2\n"
        assert r("{{ yaml('a: [1, 2]').a[1] }}") == "2"


class TestStrings:
    def test_case(self) -> None:
        assert r("{{ 'Ab' | upper }} {{ 'Ab' | lower }} {{ '  x ' | trim }}") == "AB ab x"
        assert r("{{ 'hello wORLD' | title }}|{{ 'hello wORLD' | capitalize }}") == "Hello WORLD|Hello wORLD"

    def test_substrings(self) -> None:
        s = "a.b.c"
        assert r("{{ s | substringBefore('.') }} {{ s | substringAfter('.') }}", s=s) == "a b.c"
        assert r("{{ s | substringBeforeLast('.') }} {{ s | substringAfterLast('.') }}", s=s) == "a.b c"
        assert r("{{ s | substringBefore('x') }}|{{ s | substringAfter('x') }}|", s=s) == "a.b.c||"

    def test_starts_and_ends_with(self) -> None:
        assert r("{{ 'kestra' | startsWith('kes') }} {{ 'kestra' | endsWith('x') }}") == "true false"

    def test_slugify(self) -> None:
        assert r("{{ 'Héllo, World! 2024' | slugify }}") == "hello-world-2024"

    def test_indent_and_nindent(self) -> None:
        assert r("{{ 'a\nb' | indent(2) }}") == "a\n  b"
        assert r("{{ 'a\nb' | nindent(2) }}") == "\n  a\n  b"
        assert r("{{ 'a\nb' | indent(1, prefix='>') }}") == "a\n>b"

    def test_replace(self) -> None:
        assert r("{{ 'a-b-c' | replace({'-': '_'}) }}") == "a_b_c"
        assert r("{{ 'a-b-c' | replace('-', '+') }}") == "a+b+c"
        assert r("{{ 'a1b22' | replace({'[0-9]+': '#'}, regexp=true) }}") == "a#b#"
        assert r("{{ m | replace({'x': 'y'}) }}", m={"k": "xx", "l": ["x"]}) == '{"k":"yy","l":["y"]}'

    def test_split_join(self) -> None:
        assert r("{{ 'a,b,,c,,' | split(',') }}") == '["a","b","","c"]'
        assert r("{{ 'a1b2c' | split('[0-9]') }}") == '["a","b","c"]'
        assert r("{{ 'a,b,c' | split(',', 2) }}") == '["a","b,c"]'
        assert r("{{ [1, 'a', true] | join('-') }}") == "1-a-true"

    def test_abbreviate(self) -> None:
        assert r("{{ 'this is long' | abbreviate(7) }} {{ 'short' | abbreviate(10) }}") == "this... short"

    def test_url_and_base64(self) -> None:
        assert r("{{ 'a b&c~' | urlencode }}") == "a+b%26c%7E"
        assert r("{{ 'a+b%26c' | urldecode }}") == "a b&c"
        assert r("{{ 'hé' | base64encode }} {{ 'aMOp' | base64decode }}") == "aMOp hé"

    def test_hashes(self) -> None:
        assert r("{{ 'a' | md5 }}") == "0cc175b9c0f1b6a831c399e269772661"
        assert r("{{ 'a' | sha1 }}") == "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
        assert r("{{ 'a' | sha256 }}").startswith("ca978112ca1bbdcafac231b39a23dc4d")
        assert len(r("{{ 'a' | sha512 }}")) == 128

    def test_escape_char(self) -> None:
        assert r("{{ s | escapeChar('single') }}", s="it's") == "it\\'s"
        assert r("{{ s | escapeChar('double') }}", s='say "x"') == 'say \\"x\\"'
        assert r("{{ s | escapeChar('shell') }}", s="it's") == "it'\\''s"

    def test_string_filter_on_null_is_null(self) -> None:
        assert r("[{{ n | upper }}]", n=None) == "[]"


class TestDefault:
    def test_undefined_null_and_empty(self) -> None:
        assert r("{{ missing | default('d') }}") == "d"
        assert r("{{ m.a.b.c | default('d') }}", m={}) == "d"
        assert r("{{ n | default('d') }} {{ '' | default('d') }} {{ [] | default('d') }}", n=None) == "d d d"

    def test_present_value_wins(self) -> None:
        assert r("{{ m.a | default('d') }} {{ 0 | default('d') }}", m={"a": "x"}) == "x 0"


class TestCollections:
    def test_first_last_length(self) -> None:
        assert r("{{ l | first }} {{ l | last }} {{ l | length }}", l=[1, 2, 3]) == "1 3 3"
        assert r("{{ 'abc' | first }} {{ 'abc' | last }} {{ 'abc' | length }}") == "a c 3"
        assert r("{{ m | length }} {{ n | length }}", m={"a": 1}, n=None) == "1 0"

    def test_keys_values(self) -> None:
        m = {"b": 1, "a": 2}
        assert r("{{ m | keys }} {{ m | values }}", m=m) == '["b","a"] [1,2]'

    def test_sort_reverse(self) -> None:
        assert r("{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | rsort }} {{ [1, 2] | reverse }} {{ 'ab' | reverse }}") == "[1,2,3] [3,2,1] [2,1] ba"

    def test_merge_slice(self) -> None:
        assert r("{{ [1] | merge([2]) }} {{ {'a': 1} | merge({'b': 2}) }}") == '[1,2] {"a":1,"b":2}'
        assert r("{{ [1, 2, 3, 4] | slice(1, 3) }} {{ 'hello' | slice(1, 3) }}") == "[2,3] el"

    def test_chunk_distinct_flatten(self) -> None:
        assert r("{{ [1, 2, 3] | chunk(2) }}") == "[[1,2],[3]]"
        assert r("{{ [1, 2, 1] | distinct }} {{ [[1], [2, 3], 4] | flatten }}") == "[1,2] [1,2,3,4]"

    def test_abs(self) -> None:
        assert r("{{ -3 | abs }} {{ -1.5 | abs }}") == "3 1.5"


class TestNumbers:
    def test_number(self) -> None:
        assert r("{{ '12' | number + 1 }} {{ '1.5' | number }} {{ '0x1F' | number }}") == "13 1.5 31"
        assert r("{{ '12' | number('FLOAT') }} {{ '12.7' | number('BIGDECIMAL') }}") == "12.0 12.7"
        assert r("{{ '7' | number('INT') }}") == "7"

    def test_number_rejects_non_strings(self) -> None:
        with pytest.raises(ExpressionError, match="can only be applied to String"):
            r("{{ 12 | number }}")

    def test_number_format(self) -> None:
        assert r("{{ 1234567.891 | numberFormat('#,##0.00') }}") == "1,234,567.89"
        assert r("{{ 3.14159 | numberFormat('#.##') }} {{ 2 | numberFormat('0.00') }}") == "3.14 2.00"
