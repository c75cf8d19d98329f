"""The pure decider: `decide(flow, execution, event) -> Decision(execution', commands)`."""

from ostinato.decider.context import Settings
from ostinato.decider.creation import created_execution
from ostinato.decider.decision import Decision
from ostinato.decider.engine import decide

__all__ = ["Decision", "Settings", "created_execution", "decide"]
