"""What one application of one event produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from ostinato.execution.model import Execution
from ostinato.protocol import commands as cmd


@dataclass
class Decision:
    execution: Execution | None
    commands: list[cmd.Command] = field(default_factory=list)
    #: ids of the task runs this event created or changed, in the order first touched
    changed: list[str] = field(default_factory=list)
