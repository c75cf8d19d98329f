"""Flow triggers: parsed and validated here; firing belongs to the scheduler service.

(Minimal placeholder: completed by the flow-language work.)
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from ostinato.flow.tasks import KestraModel


class Trigger(KestraModel):
    model_config = ConfigDict(extra="allow")
    id: str
    type: str
