"""The pure decider: `decide(flow, execution, event) -> Decision(execution', commands)`."""

from ostinato.decider.context import Settings
from ostinato.decider.engine import Decision, decide

__all__ = ["Decision", "Settings", "decide"]
