"""Sequential and AllowFailure: children one after another."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable
from ostinato.flow.tasks import Task


class SequentialFlowable(Flowable):
    pass


class AllowFailureFlowable(Flowable):
    """Like Sequential, but a failure of its children leaves it in WARNING."""

    def outcome(self, task: Task, state: str) -> str:
        return "WARNING" if state == "FAILED" else state
