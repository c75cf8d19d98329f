"""Input declarations and the typing of execution inputs (Kestra's messages)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ostinato.flow.inputs import Input, InputError, type_inputs
from ostinato.flow.parser import parse_flow, parse_flow_file, validate_flow

CORPUS = Path("/work/shared/conformance/kestra")
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "inputs.yaml").exists(), reason=f"Kestra conformance corpus not found at {CORPUS}"
)


def store(input_id: str, value: str | bytes | Path) -> str:
    name = Path(str(value)).name
    return f"kestra:///io/kestra/tests/inputs/executions/test/inputs/{input_id}/{name}"


def encrypt(value: str) -> str:
    return "encrypted:" + value[::-1]


@lru_cache(maxsize=1)
def expected_corpus() -> Any:
    return yaml.safe_load((CORPUS / "EXPECTED.yaml").read_text())


def corpus_case(index: int) -> dict[str, Any]:
    expected = expected_corpus()
    entry = next(f for f in expected["flows"] if f["file"] == "inputs.yaml")
    return entry["cases"][index]


def corpus_inputs() -> tuple[list[Input], dict[str, Any]]:
    flow = parse_flow_file(CORPUS / "inputs.yaml")
    given = dict(corpus_case(1)["inputs"])  # a copy: tests change it
    given["file"] = "/tmp/somewhere/application-test.yml"
    return flow.inputs, given


def matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and set(expected) == {"not_equal"}:
        return actual != expected["not_equal"]
    return bool(expected == actual)


@needs_corpus
def test_corpus_typed_inputs() -> None:
    inputs, given = corpus_inputs()
    typed = type_inputs(inputs, given, store_file=store, encrypt=encrypt)
    json.dumps(typed)  # JSON-serialisable
    expected = corpus_case(1)["asserted"]["typed_inputs"]
    for key, value in expected.items():
        assert matches(value, typed[key]), (key, value, typed[key])
    assert typed["secret"] == "encrypted:terces"
    assert typed["optional"] is None
    assert typed["empty"] == ""
    assert typed["nested"] == {"string": "a string", "more": {"int": 123}, "bool": True}


@needs_corpus
@pytest.mark.parametrize("index", range(11))
def test_corpus_input_errors(index: int) -> None:
    inputs, given = corpus_inputs()
    case = corpus_case(2)["asserted"]["errors_contain"][index]
    given.update(case["input"])
    with pytest.raises(InputError) as info:
        type_inputs(inputs, given, store_file=store, encrypt=encrypt)
    assert len(info.value.errors) == 1
    # EXPECTED.yaml quotes Kestra's ConstraintViolation text, which may be prefixed by
    # `<input id>: `; the message itself is what we produce.
    wanted = case["message"]
    prefix = f"{next(iter(case['input']))}: "
    if wanted.startswith(prefix):
        wanted = wanted[len(prefix):]
    assert info.value.errors[0].startswith(wanted), (info.value.errors, wanted)


@needs_corpus
def test_all_errors_are_collected() -> None:
    inputs, given = corpus_inputs()
    given.update({"int": "abc", "validatedInt": "9", "enum": "INVALID"})
    del given["string"]
    with pytest.raises(InputError) as info:
        type_inputs(inputs, given, store_file=store)
    assert info.value.errors == [
        "Invalid input for `string`, missing required input, but received `null`",
        "Invalid input for `enum`, it must match the values `[ENUM_VALUE, OTHER_ONE]`, but received `INVALID`",
        "Invalid input for `int`, Expected `INT` but received `abc`, but received `abc`",
        "Invalid input for `validatedInt`, it must be more than `10`, but received `9`",
    ]
    assert str(info.value).count("\n") == 3


def decl(**fields: Any) -> Input:
    return Input.model_validate({"id": "x", **fields})


def one(input_: Input, value: Any, **kw: Any) -> Any:
    return type_inputs([input_], {"x": value}, **kw)["x"]


def error(input_: Input, value: Any, **kw: Any) -> str:
    with pytest.raises(InputError) as info:
        type_inputs([input_], {"x": value}, **kw)
    assert len(info.value.errors) == 1
    return info.value.errors[0]


@pytest.mark.parametrize("type_, given, typed", [
    ("STRING", "abc", "abc"),
    ("INT", "42", 42),
    ("INT", 42, 42),
    ("FLOAT", "4.5", 4.5),
    ("FLOAT", 4, 4.0),
    ("BOOLEAN", "true", True),
    ("BOOL", "FALSE", False),
    ("BOOLEAN", True, True),
    ("DATETIME", "2019-10-06T20:27:49+02:00", "2019-10-06T18:27:49Z"),
    ("DATETIME", "2019-10-06T18:27:49.120Z", "2019-10-06T18:27:49.120Z"),
    ("DATE", "2019-10-06", "2019-10-06"),
    ("TIME", "18:27", "18:27:00"),
    ("DURATION", "PT306S", "PT5M6S"),
    ("DURATION", "pt1h", "PT1H"),
    ("JSON", "{}", {}),
    ("JSON", "[1, {\"a\": null}]", [1, {"a": None}]),
    ("JSON", {"already": "typed"}, {"already": "typed"}),
    ("YAML", "a: 2019-10-06\nb: [1, 2]", {"a": "2019-10-06", "b": [1, 2]}),
    ("URI", "https://kestra.io/docs?x=1", "https://kestra.io/docs?x=1"),
    ("EMAIL", "ops@example.com", "ops@example.com"),
    ("SECRET", "s3cret", "s3cret"),
])
def test_typing(type_: str, given: Any, typed: Any) -> None:
    assert one(decl(type=type_), given) == typed


def test_wrong_types_use_kestras_message() -> None:
    for type_, value in [("INT", "abc"), ("INT", "4.5"), ("FLOAT", "x"), ("BOOLEAN", "yes"),
                         ("DATETIME", "2019-10-06"), ("DATE", "06/10/2019"), ("TIME", "25:00"),
                         ("DURATION", "5 minutes"), ("JSON", "{nope"), ("EMAIL", "nobody"),
                         ("URI", "not a uri")]:
        assert error(decl(type=type_), value) == (
            f"Invalid input for `x`, Expected `{type_}` but received `{value}`, but received `{value}`"
        )


def test_array() -> None:
    assert one(decl(type="ARRAY", itemType="INT"), "[1, 2, 3]") == [1, 2, 3]
    assert one(decl(type="ARRAY", itemType="INT"), ["4", 5]) == [4, 5]
    assert one(decl(type="ARRAY", itemType="DATE"), '["2020-01-02"]') == ["2020-01-02"]
    assert error(decl(type="ARRAY", itemType="INT"), '["s1", "s2"]') == (
        'Invalid input for `x`, Unable to parse array element as `INT` on `s1`, '
        'but received `["s1", "s2"]`'
    )
    assert "Expected `ARRAY`" in error(decl(type="ARRAY", itemType="STRING"), "not json")


def test_enum_select_multiselect() -> None:
    enum = decl(type="ENUM", values=["A", "B"])
    assert one(enum, "A") == "A"
    assert error(enum, "C") == "Invalid input for `x`, it must match the values `[A, B]`, but received `C`"
    select = decl(type="SELECT", values=["A", "B"], allowCustomValue=True)
    assert one(select, "Z") == "Z"
    multi = decl(type="MULTISELECT", options=["A", "B", "C"])
    assert multi.values == ["A", "B", "C"]
    assert one(multi, '["A", "C"]') == ["A", "C"]
    assert one(multi, ["B"]) == ["B"]
    assert "it must match the values `[A, B, C]`" in error(multi, ["A", "D"])


def test_constraints() -> None:
    assert "it must be less than `20`" in error(decl(type="INT", max=20), "21")
    assert error(decl(type="FLOAT", min=1), "0.5") == (
        "Invalid input for `x`, it must be more than `1.0`, but received `0.5`"
    )
    assert "It must be less than `PT20S`" in error(decl(type="DURATION", max="PT20S"), "PT1M")
    assert "it must be before `2023-12-31T23:59:59Z`" in error(
        decl(type="DATETIME", before="2023-12-31T23:59:59Z"), "2024-01-01T00:00:00Z"
    )
    assert "it must be before `11:59:59`" in error(decl(type="TIME", before="11:59:59"), "12:00:00")
    assert one(decl(type="DATE", after="2023-01-01"), "2023-01-01") == "2023-01-01"
    assert one(decl(type="STRING", validator=r"A\d+"), "A1") == "A1"
    assert "it must match the pattern `A\\d+`" in error(decl(type="STRING", validator=r"A\d+"), "A1x")


def test_defaults_optional_and_unknown_names() -> None:
    inputs = [
        decl(id="a", type="INT", defaults=5),
        decl(id="b", type="STRING", required=False),
        decl(id="c", type="DURATION", defaults="PT60S"),
    ]
    assert type_inputs(inputs, {"unknown": "ignored"}) == {"a": 5, "b": None, "c": "PT1M"}
    assert type_inputs(inputs, {"a": "7", "b": "x"}) == {"a": 7, "b": "x", "c": "PT1M"}


def test_file_inputs() -> None:
    file_input = decl(type="FILE")
    seen: list[tuple[str, Any]] = []

    def keep(input_id: str, value: str | bytes | Path) -> str:
        seen.append((input_id, value))
        return f"kestra:///ns/flow/executions/e1/inputs/{input_id}/data.csv"

    assert one(file_input, b"a,b\n", store_file=keep) == "kestra:///ns/flow/executions/e1/inputs/x/data.csv"
    assert seen == [("x", b"a,b\n")]
    assert one(file_input, "kestra:///already/stored.txt") == "kestra:///already/stored.txt"
    assert error(file_input, "/local/path.txt") == (
        "Invalid input for `x`, Expected `FILE` but received `/local/path.txt`, but received `/local/path.txt`"
    )


def test_secret_is_encrypted() -> None:
    assert one(decl(type="SECRET"), "pw", encrypt=encrypt) == "encrypted:wp"


# ----------------------------------------------------------------- declarations


def test_declaration_old_names() -> None:
    declared = Input.model_validate({"name": "legacy", "type": "SELECT", "options": ["a"]})
    assert declared.id == "legacy" and declared.values == ["a"]


@pytest.mark.parametrize("type_, key, value", [
    ("STRING", "min", 1),
    ("INT", "validator", "\\d+"),
    ("BOOLEAN", "after", "2020-01-01"),
    ("STRING", "values", ["a"]),
    ("INT", "itemType", "INT"),
    ("ENUM", "allowCustomValue", True),
])
def test_constraint_for_the_wrong_type_is_rejected(type_: str, key: str, value: Any) -> None:
    data = {"id": "x", "type": type_, key: value}
    if type_ == "ENUM":
        data["values"] = ["a"]
    with pytest.raises(ValidationError) as info:
        Input.model_validate(data)
    assert info.value.errors()[0]["loc"] == (key,)
    assert f"`{key}` is not allowed for an input of type {type_}" in info.value.errors()[0]["msg"]


def test_flow_reports_bad_declarations_with_lines() -> None:
    errors = validate_flow(
        "id: f\nnamespace: a\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n"
        "inputs:\n"
        "  - id: a\n    type: INT\n    defaults: abc\n"         # line 7
        "  - id: b\n    type: ENUM\n"                            # line 10
        "  - id: c\n    type: ARRAY\n"                           # line 12
        "  - id: d\n    type: STRING\n    validator: '('\n"      # line 14
        "  - id: e\n    type: INT\n    min: 10\n    defaults: 3\n"  # line 17
        "  - id: bad id\n"                                       # line 21
    )
    assert [(e.path, e.line) for e in errors] == [
        ("inputs[0].defaults", 9), ("inputs[1].values", 10), ("inputs[2].itemType", 12),
        ("inputs[3].validator", 16), ("inputs[4].defaults", 20), ("inputs[5].id", 21),
    ]
    assert "it must be more than `10`" in errors[4].message
    assert "invalid input id `bad id`" in errors[5].message


def test_typed_defaults_in_yaml_are_accepted() -> None:
    flow = parse_flow(
        "id: f\nnamespace: a\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n"
        "inputs:\n"
        "  - id: day\n    type: DATE\n    defaults: 2024-02-29\n    after: 2024-01-01\n"
        "  - id: at\n    type: DATETIME\n    defaults: 2024-02-29T10:00:00Z\n"
        "  - id: list\n    type: ARRAY\n    itemType: STRING\n    defaults: [a, b]\n"
        "  - id: doc\n    type: JSON\n    defaults: {a: [1]}\n"
    )
    assert type_inputs(flow.inputs, {}) == {
        "day": "2024-02-29", "at": "2024-02-29T10:00:00Z", "list": ["a", "b"], "doc": {"a": [1]},
    }
