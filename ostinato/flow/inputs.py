"""Flow inputs: declarations, and typing of the values an execution is given.

`Input` is the declaration as written in a flow (`inputs:`); `type_inputs` turns the values
given to an execution (strings from an HTTP form, or already typed values) into typed,
JSON-serialisable values, with Kestra's own error messages (`input_typing`, on the
coercion of one value to one type in `input_values`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ostinato.flow.input_typing import InputError, nest_dotted, type_inputs, type_one
from ostinato.flow.input_values import (
    InvalidValue,
    coerce_scalar,
    contains_template,
    is_template,
    show_value,
)
from ostinato.flow.tasks import KestraModel
from ostinato.sandbox.regex import RegexError, compile_regex

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
                compile_regex(self.validator)  # the engine that will run it (RE2)
            except RegexError as exc:
                bad("validator", f"`validator` is not usable: {exc}", self.validator)
        bounds = (("min", "max") if self.type in ("INT", "FLOAT", "DURATION")
                  else ("after", "before") if self.type in ("DATE", "DATETIME", "TIME") else ())
        for key in bounds:
            bound = getattr(self, key)
            if bound is not None and not is_template(bound):
                try:
                    coerce_scalar(self.type, bound)
                except InvalidValue:
                    bad(key, f"`{key}` must be a {self.type} value, got `{show_value(bound)}`", bound)
        if self.type == "ENUM" and not self.values:
            bad("values", "an ENUM input needs `values`", None)
        if self.type == "ARRAY" and self.item_type is None:
            bad("itemType", "an ARRAY input needs `itemType`", None)
        if self.type == "ARRAY" and self.item_type in ("ARRAY", "FILE"):
            bad("itemType", f"`itemType` cannot be {self.item_type}", self.item_type)

        if not problems and self.defaults is not None and not contains_template(self.defaults):
            if self.type not in ("FILE", "SECRET"):
                try:
                    type_one(self, self.defaults, None, None)
                except InvalidValue as exc:
                    bad("defaults",
                        f"`defaults` does not fit the input type {self.type}: {exc.reason}",
                        self.defaults)
        if problems:
            raise ValidationError.from_exception_data("Input", problems)
        return self


__all__ = [
    "CONSTRAINTS", "INPUT_ID_PATTERN", "Input", "InputError", "InputType", "nest_dotted",
    "type_inputs",
]
