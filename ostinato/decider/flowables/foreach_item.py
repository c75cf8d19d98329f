"""ForEachItem: its `tasks` are its three phases (split on a worker, one child execution
per batch, merge of the children's outputs on a worker; ostinato/flow/tasks_foreach_item.py),
run in order like a Sequential's, each a task run of its own; `errors` run if one fails.
The middle phase is resolved by the decider (ostinato/decider/foreach_items.py)."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable


class ForEachItemFlowable(Flowable):
    """The default semantics (tasks in order, then errors on failure) are ForEachItem's."""
