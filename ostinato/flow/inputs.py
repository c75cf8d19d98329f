"""Flow inputs: declarations and typing of the values an execution is given.

(Minimal placeholder: the full input model and typing are filled in by the flow-language work.)
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ostinato.flow.tasks import KestraModel


class Input(KestraModel):
    """A flow input declaration (`id`, or the older `name`)."""

    id: str
    type: str = "STRING"
    description: str | None = None
    required: bool = True
    defaults: Any = None

    @model_validator(mode="before")
    @classmethod
    def _name_is_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" in data and "id" not in data:
            data = {**data, "id": data["name"]}
            del data["name"]
        return data
