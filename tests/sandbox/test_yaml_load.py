"""The bounded YAML loader: aliases are charged at their expanded size while composing."""

from __future__ import annotations

import time

import pytest

from ostinato.sandbox.yaml_load import YamlTooLarge, load_yaml


def test_scalar_alias_bomb_stops_while_composing() -> None:
    text = 'a: &a "' + "x" * 1000 + '"\nb: [' + ", ".join(["*a"] * 2000) + "]\n"
    started = time.monotonic()
    with pytest.raises(YamlTooLarge) as caught:
        load_yaml(text, max_expanded=1_000_000)
    assert time.monotonic() - started < 1
    assert "1000000" in str(caught.value)


def test_collection_aliases_count_their_whole_content() -> None:
    levels = ['l0: &l0 ["ab", "cd"]']
    levels += [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 30)]
    with pytest.raises(YamlTooLarge):
        load_yaml("\n".join(levels), max_expanded=100_000)


def test_ordinary_documents_load_as_safe_load_does() -> None:
    assert load_yaml("a: &x [1, {b: c}]\nd: *x\ne: 2020-01-01\n") == {
        "a": [1, {"b": "c"}], "d": [1, {"b": "c"}], "e": __import__("datetime").date(2020, 1, 1),
    }
