"""Flow concurrency limits: whether a new execution runs, waits, or ends at once.

Admission counts executions across the whole flow, so it belongs to one owner per flow
(not to the decider, which sees one execution); the owner asks `admission` and tells the
decider its answer with the request, and sends `Admit` when a queued execution may start.
"""

from __future__ import annotations

from ostinato.execution.states import StateType
from ostinato.flow.model import Concurrency

#: what each `behavior` does to an execution past the limit
_PAST_LIMIT = {"QUEUE": StateType.QUEUED, "CANCEL": StateType.CANCELLED, "FAIL": StateType.FAILED}


def admission(concurrency: Concurrency | None, running: int) -> StateType:
    """RUNNING when under the limit (or no limit), else QUEUED, CANCELLED or FAILED."""
    if concurrency is None or running < concurrency.limit:
        return StateType.RUNNING
    return _PAST_LIMIT[concurrency.behavior]
