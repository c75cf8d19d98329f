"""`type_inputs`: the values given to an execution (strings from an HTTP form, or already
typed values) as typed, JSON-serialisable values, checked against the flow's `Input`
declarations, with Kestra's own error messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ostinato.sandbox.regex import RegexError, fullmatch
from ostinato.sandbox.yaml_load import YamlTooLarge, load_yaml
from ostinato.flow.input_values import (
    InvalidValue,
    bound_text,
    coerce_scalar,
    contains_template,
    expected,
    is_template,
    plain,
    show_value,
    to_json_value,
)

if TYPE_CHECKING:  # inputs.py imports this module: the model is only named here
    from ostinato.flow.inputs import Input


class InputError(ValueError):
    """Values given to an execution that do not fit the flow's inputs (all of them at once)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def type_one(
    decl: Input,
    value: Any,
    store_file: Callable[[str, str | bytes | Path], str] | None,
    encrypt: Callable[[str], str] | None,
) -> Any:
    """Type one non-null value for `decl`; raises `InvalidValue` with Kestra's middle message."""
    type_ = decl.type
    if type_ in ("INT", "FLOAT", "DURATION"):
        parsed = coerce_scalar(type_, value)
        small = "It" if type_ == "DURATION" else "it"
        if decl.min is not None and not is_template(decl.min):
            low = coerce_scalar(type_, decl.min)
            if parsed < low:
                raise InvalidValue(f"{small} must be more than `{bound_text(type_, low)}`")
        if decl.max is not None and not is_template(decl.max):
            high = coerce_scalar(type_, decl.max)
            if parsed > high:
                raise InvalidValue(f"{small} must be less than `{bound_text(type_, high)}`")
        return to_json_value(type_, parsed)
    if type_ in ("DATE", "DATETIME", "TIME"):
        parsed = coerce_scalar(type_, value)
        if decl.after is not None and not is_template(decl.after):
            low = coerce_scalar(type_, decl.after)
            if parsed < low:
                raise InvalidValue(f"it must be after `{bound_text(type_, low)}`")
        if decl.before is not None and not is_template(decl.before):
            high = coerce_scalar(type_, decl.before)
            if parsed > high:
                raise InvalidValue(f"it must be before `{bound_text(type_, high)}`")
        return to_json_value(type_, parsed)
    if type_ in ("BOOLEAN", "BOOL", "URI", "EMAIL"):
        return coerce_scalar(type_, value)
    if type_ == "STRING":
        text = coerce_scalar(type_, value)
        if decl.validator is not None and not _matches(decl.validator, text):
            raise InvalidValue(f"it must match the pattern `{decl.validator}`")
        return text
    if type_ in ("ENUM", "SELECT"):
        text = coerce_scalar(type_, value)
        allowed = [show_value(v) for v in decl.values or []]
        if decl.values is not None and text not in allowed and not decl.allow_custom_value:
            raise InvalidValue(f"it must match the values `[{', '.join(allowed)}]`")
        return text
    if type_ == "MULTISELECT":
        items = _as_list(type_, value, lenient=True)
        allowed = [show_value(v) for v in decl.values or []]
        out = []
        for item in items:
            text = show_value(item)
            if decl.values is not None and text not in allowed and not decl.allow_custom_value:
                raise InvalidValue(f"it must match the values `[{', '.join(allowed)}]`")
            out.append(text)
        return out
    if type_ == "SECRET":
        text = coerce_scalar(type_, value)
        return encrypt(text) if encrypt is not None else text
    if type_ == "JSON":
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise expected(type_, value) from None
            except RecursionError:
                raise InvalidValue("it is nested too deeply") from None
        return plain(value)
    if type_ == "YAML":
        if isinstance(value, str):
            try:
                return plain(load_yaml(value))
            except YamlTooLarge as exc:
                raise InvalidValue(str(exc.problem)) from None
            except RecursionError:
                raise InvalidValue("it is nested too deeply") from None
            except yaml.YAMLError:
                raise expected(type_, value) from None
        return plain(value)
    if type_ == "ARRAY":
        items = _as_list(type_, value, lenient=False)
        item_type = decl.item_type or "STRING"
        # the same declaration class (Input), without importing inputs.py back
        item_decl = type(decl)(id=decl.id, type=item_type, required=False)
        out = []
        for item in items:
            try:
                out.append(type_one(item_decl, item, store_file, encrypt))
            except InvalidValue:
                raise InvalidValue(
                    f"Unable to parse array element as `{item_type}` on `{show_value(item)}`"
                ) from None
        return out
    if type_ == "FILE":
        if isinstance(value, str) and value.startswith("kestra://"):
            return value
        if store_file is not None and isinstance(value, (str, bytes, Path)):
            return store_file(decl.id, value)
        raise expected(type_, value)
    raise expected(type_, value)


def _matches(validator: str, text: str) -> bool:
    """`text` matches the whole `validator`, in linear time (RE2: no catastrophic backtracking)."""
    try:
        return fullmatch(validator, text)
    except RegexError as exc:
        raise InvalidValue(str(exc)) from None


def _as_list(type_: str, value: Any, *, lenient: bool) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            if lenient:
                return [value]
            raise expected(type_, value) from None
        if isinstance(parsed, list):
            return parsed
        if lenient:
            return [value]
    raise expected(type_, value)


def _is_missing(decl: Input, value: Any) -> bool:
    if value is None:
        return True
    # An empty form field is "not given", except for text inputs where "" is a value.
    return value == "" and decl.type not in ("STRING", "SECRET", "EMAIL", "ENUM", "SELECT")


def type_inputs(
    inputs: list[Input],
    given: Mapping[str, Any],
    *,
    store_file: Callable[[str, str | bytes | Path], str] | None = None,
    encrypt: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Typed values for an execution: defaults applied, dotted ids nested.

    Raises InputError listing every value that does not fit (Kestra's messages).
    Given names that are not declared inputs are ignored, as Kestra does.
    """
    errors: list[str] = []
    flat: dict[str, Any] = {}
    for decl in inputs:
        value = given.get(decl.id)
        if _is_missing(decl, value):
            value = decl.defaults
        if value is None:
            if decl.required:
                errors.append(
                    f"Invalid input for `{decl.id}`, missing required input, but received `null`"
                )
            flat[decl.id] = None
            continue
        if contains_template(value) and value is decl.defaults:
            flat[decl.id] = plain(value)  # rendered later by the caller, never here
            continue
        try:
            flat[decl.id] = type_one(decl, value, store_file, encrypt)
        except InvalidValue as exc:
            errors.append(
                f"Invalid input for `{decl.id}`, {exc.reason}, but received `{show_value(value)}`"
            )
    if errors:
        raise InputError(errors)
    return nest_dotted(flat)


def nest_dotted(flat: Mapping[str, Any]) -> dict[str, Any]:
    """`{"a.b": 1, "a.c": 2}` -> `{"a": {"b": 1, "c": 2}}`."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out
