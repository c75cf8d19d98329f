"""Flow inputs: declarations, and typing of the values an execution is given.

`Input` is the declaration as written in a flow (`inputs:`); `type_inputs` turns the values
given to an execution (strings from an HTTP form, or already typed values) into typed,
JSON-serialisable values, with Kestra's own error messages.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ostinato.flow.durations import InvalidDuration, format_duration, parse_duration
from ostinato.flow.tasks import KestraModel

INPUT_ID_PATTERN = r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$"

InputType = Literal[
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE", "TIME", "DURATION",
    "FILE", "JSON", "YAML", "URI", "EMAIL", "SECRET", "ENUM", "SELECT", "MULTISELECT", "ARRAY",
]

#: which input types take each type-specific property (YAML name -> types)
CONSTRAINTS: dict[str, frozenset[str]] = {
    "validator": frozenset({"STRING"}),
    "min": frozenset({"INT", "FLOAT", "DURATION"}),
    "max": frozenset({"INT", "FLOAT", "DURATION"}),
    "after": frozenset({"DATE", "DATETIME", "TIME"}),
    "before": frozenset({"DATE", "DATETIME", "TIME"}),
    "values": frozenset({"ENUM", "SELECT", "MULTISELECT"}),
    "itemType": frozenset({"ARRAY"}),
    "allowCustomValue": frozenset({"SELECT", "MULTISELECT"}),
    "expression": frozenset({"SELECT", "MULTISELECT"}),
}
_FIELD_OF = {
    "validator": "validator", "min": "min", "max": "max", "after": "after",
    "before": "before", "values": "values", "itemType": "item_type",
    "allowCustomValue": "allow_custom_value", "expression": "expression",
}


class Input(KestraModel):
    """A flow input declaration (`id`, or the older `name`)."""

    id: str = Field(pattern=INPUT_ID_PATTERN, max_length=256)
    type: InputType = "STRING"
    description: str | None = None
    display_name: str | None = None
    required: bool = True
    defaults: Any = None
    validator: str | None = None
    min: Any = None
    max: Any = None
    after: Any = None
    before: Any = None
    values: list[Any] | None = None
    expression: str | None = None
    item_type: InputType | None = None
    allow_custom_value: bool | None = None
    depends_on: Any = None
    prefill: Any = None

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """`name` is the older `id`, `options` the older `values`."""
        if isinstance(data, dict):
            data = dict(data)
            if "name" in data and "id" not in data:
                data["id"] = data.pop("name")
            if "options" in data and "values" not in data:
                data["values"] = data.pop("options")
        return data

    @model_validator(mode="after")
    def _check_constraints(self) -> Input:
        problems: list[InitErrorDetails] = []

        def bad(key: str, message: str, value: Any) -> None:
            problems.append(
                InitErrorDetails(
                    type=PydanticCustomError("input_constraint", message),
                    loc=(key,),
                    input=value,
                )
            )

        for key, types in CONSTRAINTS.items():
            value = getattr(self, _FIELD_OF[key])
            if value is None or self.type in types:
                continue
            allowed = ", ".join(sorted(types))
            bad(key, f"`{key}` is not allowed for an input of type {self.type} "
                     f"(only for {allowed})", value)

        if self.validator is not None and self.type == "STRING":
            try:
                re.compile(self.validator)
            except re.error as exc:
                bad("validator", f"`validator` is not a valid regular expression: {exc}",
                    self.validator)
        bounds = (("min", "max") if self.type in ("INT", "FLOAT", "DURATION")
                  else ("after", "before") if self.type in ("DATE", "DATETIME", "TIME") else ())
        for key in bounds:
            bound = getattr(self, key)
            if bound is not None and not _is_template(bound):
                try:
                    _coerce_scalar(self.type, bound)
                except _Bad:
                    bad(key, f"`{key}` must be a {self.type} value, got `{_show(bound)}`", bound)
        if self.type == "ENUM" and not self.values:
            bad("values", "an ENUM input needs `values`", None)
        if self.type == "ARRAY" and self.item_type is None:
            bad("itemType", "an ARRAY input needs `itemType`", None)
        if self.type == "ARRAY" and self.item_type in ("ARRAY", "FILE"):
            bad("itemType", f"`itemType` cannot be {self.item_type}", self.item_type)

        if not problems and self.defaults is not None and not _contains_template(self.defaults):
            if self.type not in ("FILE", "SECRET"):
                try:
                    _type_one(self, self.defaults, None, None)
                except _Bad as exc:
                    bad("defaults",
                        f"`defaults` does not fit the input type {self.type}: {exc.reason}",
                        self.defaults)
        if problems:
            raise ValidationError.from_exception_data("Input", problems)
        return self


class InputError(ValueError):
    """Values given to an execution that do not fit the flow's inputs (all of them at once)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class _Bad(ValueError):
    """One value that does not fit; `reason` is the middle part of Kestra's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(_contains_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_template(v) for v in value)
    return False


def _show(value: Any) -> str:
    """A given value as Kestra prints it in a message."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _java_time(value: time) -> str:
    """LocalTime.toString: `01:00` when seconds and fraction are zero."""
    out = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        out += f":{value.second:02d}"
        if value.microsecond:
            out += "." + _fraction(value.microsecond)
    return out


def _fraction(microsecond: int) -> str:
    text = f"{microsecond:06d}"
    return text[:3] if text.endswith("000") else text


def _instant(value: datetime) -> str:
    """Instant.toString: UTC, `Z`, seconds always, fraction only when not zero."""
    value = value.astimezone(timezone.utc)
    out = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        out += "." + _fraction(value.microsecond)
    return out + "Z"


def _float_text(value: float) -> str:
    """Java's Float/Double toString for ordinary values (`1.0`, `0.1`)."""
    return repr(float(value))


def _expected(type_: str, value: Any) -> _Bad:
    return _Bad(f"Expected `{type_}` but received `{_show(value)}`")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _coerce_scalar(type_: str, value: Any) -> Any:
    """Parse one value of a simple type into its Python form (raises `_Bad`)."""
    if type_ in ("STRING", "ENUM", "SELECT", "SECRET", "EMAIL", "URI"):
        if isinstance(value, (dict, list)):
            raise _expected(type_, value)
        text = _show(value)
        if type_ == "EMAIL" and not _EMAIL.match(text):
            raise _expected(type_, value)
        if type_ == "URI":
            parts = urlsplit(text)
            if not parts.scheme or not parts.hostname:
                raise _expected(type_, value)
        return text
    if type_ == "INT":
        if isinstance(value, bool):
            raise _expected(type_, value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise _expected(type_, value)
    if type_ == "FLOAT":
        if isinstance(value, bool):
            raise _expected(type_, value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise _expected(type_, value) from None
            if math.isfinite(result):
                return result
        raise _expected(type_, value)
    if type_ in ("BOOLEAN", "BOOL"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _expected(type_, value)
    if type_ == "DATETIME":
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
            except ValueError:
                raise _expected(type_, value) from None
        else:
            raise _expected(type_, value)
        if parsed.tzinfo is None:
            # YAML reads an unquoted `2023-01-01T00:00:00Z` as a naive UTC datetime;
            # a string without an offset is not an instant (Instant.parse refuses it).
            if isinstance(value, str):
                raise _expected(type_, value)
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed
    if type_ == "DATE":
        if isinstance(value, datetime):
            raise _expected(type_, value)
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise _expected(type_, value) from None
        raise _expected(type_, value)
    if type_ == "TIME":
        if isinstance(value, time):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?", value.strip()):
            text = value.strip()
            if "." in text:  # Python takes at most microseconds
                head, frac = text.split(".")
                text = f"{head}.{frac[:6]:0<6}"
            try:
                return time.fromisoformat(text)
            except ValueError:
                raise _expected(type_, value) from None
        raise _expected(type_, value)
    if type_ == "DURATION":
        try:
            return parse_duration(value)
        except InvalidDuration:
            raise _expected(type_, value) from None
    raise _expected(type_, value)


def _plain(value: Any) -> Any:
    """Make a parsed YAML value JSON-serialisable (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return _instant(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _to_json_value(type_: str, parsed: Any) -> Any:
    if type_ == "DATETIME":
        return _instant(parsed)
    if type_ == "DATE":
        return parsed.isoformat()
    if type_ == "TIME":
        return parsed.isoformat()
    if type_ == "DURATION":
        return format_duration(parsed)
    return parsed


def _bound_text(type_: str, parsed: Any) -> str:
    if type_ == "DATETIME":
        return _instant(parsed)
    if type_ == "DATE":
        return str(parsed.isoformat())
    if type_ == "TIME":
        return _java_time(parsed)
    if type_ == "DURATION":
        return format_duration(parsed)
    if type_ == "FLOAT":
        return _float_text(parsed)
    return str(parsed)


def _type_one(
    decl: Input,
    value: Any,
    store_file: Callable[[str, str | bytes | Path], str] | None,
    encrypt: Callable[[str], str] | None,
) -> Any:
    """Type one non-null value for `decl`; raises `_Bad` with Kestra's middle message."""
    type_ = decl.type
    if type_ in ("INT", "FLOAT", "DURATION"):
        parsed = _coerce_scalar(type_, value)
        small = "It" if type_ == "DURATION" else "it"
        if decl.min is not None and not _is_template(decl.min):
            low = _coerce_scalar(type_, decl.min)
            if parsed < low:
                raise _Bad(f"{small} must be more than `{_bound_text(type_, low)}`")
        if decl.max is not None and not _is_template(decl.max):
            high = _coerce_scalar(type_, decl.max)
            if parsed > high:
                raise _Bad(f"{small} must be less than `{_bound_text(type_, high)}`")
        return _to_json_value(type_, parsed)
    if type_ in ("DATE", "DATETIME", "TIME"):
        parsed = _coerce_scalar(type_, value)
        if decl.after is not None and not _is_template(decl.after):
            low = _coerce_scalar(type_, decl.after)
            if parsed < low:
                raise _Bad(f"it must be after `{_bound_text(type_, low)}`")
        if decl.before is not None and not _is_template(decl.before):
            high = _coerce_scalar(type_, decl.before)
            if parsed > high:
                raise _Bad(f"it must be before `{_bound_text(type_, high)}`")
        return _to_json_value(type_, parsed)
    if type_ in ("BOOLEAN", "BOOL", "URI", "EMAIL"):
        return _coerce_scalar(type_, value)
    if type_ == "STRING":
        text = _coerce_scalar(type_, value)
        if decl.validator is not None and not re.fullmatch(decl.validator, text):
            raise _Bad(f"it must match the pattern `{decl.validator}`")
        return text
    if type_ in ("ENUM", "SELECT"):
        text = _coerce_scalar(type_, value)
        allowed = [_show(v) for v in decl.values or []]
        if decl.values is not None and text not in allowed and not decl.allow_custom_value:
            raise _Bad(f"it must match the values `[{', '.join(allowed)}]`")
        return text
    if type_ == "MULTISELECT":
        items = _as_list(type_, value, lenient=True)
        allowed = [_show(v) for v in decl.values or []]
        out = []
        for item in items:
            text = _show(item)
            if decl.values is not None and text not in allowed and not decl.allow_custom_value:
                raise _Bad(f"it must match the values `[{', '.join(allowed)}]`")
            out.append(text)
        return out
    if type_ == "SECRET":
        text = _coerce_scalar(type_, value)
        return encrypt(text) if encrypt is not None else text
    if type_ == "JSON":
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _expected(type_, value) from None
        return _plain(value)
    if type_ == "YAML":
        if isinstance(value, str):
            try:
                return _plain(yaml.safe_load(value))
            except yaml.YAMLError:
                raise _expected(type_, value) from None
        return _plain(value)
    if type_ == "ARRAY":
        items = _as_list(type_, value, lenient=False)
        item_type = decl.item_type or "STRING"
        item_decl = Input(id=decl.id, type=item_type, required=False)
        out = []
        for item in items:
            try:
                out.append(_type_one(item_decl, item, store_file, encrypt))
            except _Bad:
                raise _Bad(
                    f"Unable to parse array element as `{item_type}` on `{_show(item)}`"
                ) from None
        return out
    if type_ == "FILE":
        if isinstance(value, str) and value.startswith("kestra://"):
            return value
        if store_file is not None and isinstance(value, (str, bytes, Path)):
            return store_file(decl.id, value)
        raise _expected(type_, value)
    raise _expected(type_, value)


def _as_list(type_: str, value: Any, *, lenient: bool) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            if lenient:
                return [value]
            raise _expected(type_, value) from None
        if isinstance(parsed, list):
            return parsed
        if lenient:
            return [value]
    raise _expected(type_, value)


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
        if _contains_template(value) and value is decl.defaults:
            flat[decl.id] = _plain(value)  # rendered later by the caller, never here
            continue
        try:
            flat[decl.id] = _type_one(decl, value, store_file, encrypt)
        except _Bad as exc:
            errors.append(
                f"Invalid input for `{decl.id}`, {exc.reason}, but received `{_show(value)}`"
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
