"""Sequential and AllowFailure: children one after another."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable
from ostinato.execution.states import StateType
from ostinato.flow.tasks import Task


class SequentialFlowable(Flowable):
    pass


class AllowFailureFlowable(Flowable):
    """Like Sequential, but a failure of its children leaves it in WARNING."""

    def outcome(self, task: Task, state: StateType) -> StateType:
        return StateType.WARNING if state == StateType.FAILED else state
