"""Invariant 8: YAML aliases cannot make a small flow or input expand without bound."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from ostinato.flow.inputs import Input
from ostinato.flow.input_typing import InputError, type_inputs
from ostinato.flow.parser import FlowValidationError, parse_flow
from ostinato.sandbox.limits import SETTINGS


def alias_bomb(depth: int = 10, indent: str = "  ") -> str:
    """A scalar `&a0 "x…"` then lists of `*a0` nested ten deep (no alias to a collection):
    10 KB of YAML that read back as tens of megabytes."""
    refs = ", ".join(["*a0"] * 80)
    nested = "[" * depth + refs + ", " + "], [".join([refs] * 10) + "]" * depth
    return f'{indent}a0: &a0 "{"x" * 6000}"\n{indent}deep: {nested}'


def test_flow_variables_alias_bomb_is_refused_with_the_limit() -> None:
    source = "id: bomb\nnamespace: hostile\nvariables:\n" + alias_bomb() + (
        "\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
    )
    assert len(source) < 13_000
    with pytest.raises(FlowValidationError) as caught:
        parse_flow(source)
    message = str(caught.value)
    assert "once its aliases are expanded" in message
    assert SETTINGS["yaml_max_expanded"] in message


def test_yaml_input_alias_bomb_is_refused_with_the_limit() -> None:
    declaration = Input.model_validate({"id": "doc", "type": "YAML"})
    with pytest.raises(InputError) as caught:
        type_inputs([declaration], {"doc": "root:\n" + alias_bomb()})
    message = str(caught.value)
    assert "Invalid input for `doc`" in message
    assert SETTINGS["yaml_max_expanded"] in message


def test_modest_aliases_still_load() -> None:
    source = (
        "id: ok\nnamespace: fine\nvariables:\n  base: &b {a: 1, b: [1, 2]}\n"
        "  copy: *b\n  more: [*b, *b]\n"
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
    )
    flow = parse_flow(source)
    assert flow.variables["more"] == [{"a": 1, "b": [1, 2]}] * 2


def test_catastrophic_validator_answers_at_once() -> None:
    declaration = Input.model_validate({"id": "name", "type": "STRING", "validator": "^(a+)+$"})
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        type_inputs([declaration], {"name": "a" * 42 + "!"})
    assert time.monotonic() - started < 0.5
    assert "it must match the pattern `^(a+)+$`" in str(caught.value)
    assert type_inputs([declaration], {"name": "a" * 43}) == {"name": "a" * 43}


def test_validator_with_a_backreference_is_refused_at_deploy_naming_the_pattern() -> None:
    with pytest.raises(ValidationError) as caught:
        Input.model_validate({"id": "twice", "type": "STRING", "validator": "(a)\\1"})
    assert "`(a)\\1` uses a backreference" in str(caught.value)


@pytest.mark.parametrize("type_, text", [("JSON", "[" * 100_000 + "]" * 100_000),
                                         ("YAML", "[" * 100_000 + "]" * 100_000)])
def test_deeply_nested_inputs_are_refused_by_name(type_: str, text: str) -> None:
    declaration = Input.model_validate({"id": "deep", "type": type_})
    with pytest.raises(InputError) as caught:
        type_inputs([declaration], {"deep": text})
    assert "Invalid input for `deep`, it is nested too deeply" in str(caught.value)


def test_flow_trigger_regex_filter_runs_on_re2() -> None:
    from ostinato.flow.triggers import Filter

    with pytest.raises(ValidationError, match="uses a backreference"):
        Filter.model_validate({"field": "NAMESPACE", "type": "REGEX", "value": "(a)\\1"})
