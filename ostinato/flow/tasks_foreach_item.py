"""Model of Kestra's `flow.ForEachItem`: batches of an items file, one subflow execution each.

As in Kestra, the task is a flowable whose `tasks` are three internal tasks, each a task run
of its own (`<id>_split`, `<id>_items`, `<id>_merge`, so that `outputs.<id>_merge.subflowOutputs`
reads as in Kestra's flows):

- `ForEachItemSplit` runs on a worker: it splits the items file into batch files and
  returns their URIs (ostinato/tasks/foreach_item.py);
- `ForEachItemExecutable` is resolved by the decider: one child execution per batch, with
  `taskrun.items` (the batch's URI) and `taskrun.iteration` (1-based) for its inputs; it
  ends when every child did (ostinato/decider/foreach_items.py);
- `ForEachItemMergeOutputs` runs on a worker: the children's flow outputs, one line each,
  gathered into one file (output `subflowOutputs`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from ostinato.flow.tasks import KestraModel, Subflow, Task, kestra_task

SPLIT_SUFFIX = "_split"
ITEMS_SUFFIX = "_items"
MERGE_SUFFIX = "_merge"
#: the trigger type a child execution carries (its files may be read by the child, scope.py)
TRIGGER_TYPE = "io.kestra.plugin.core.flow.ForEachItem"


class ForEachItemBatch(KestraModel):
    """How to cut the items file: `rows` per batch (default 1), `bytes`, or `partitions`."""

    rows: int | str | None = None
    bytes: str | int | None = None
    partitions: int | str | None = None
    separator: str = "\n"


class _Internal(Task):
    """An internal phase of a ForEachItem: never written by users, never catalogued."""

    catalogued: ClassVar[bool] = False


@kestra_task("io.kestra.plugin.core.flow.ForEachItem$ForEachItemSplit")
class ForEachItemSplit(_Internal):
    items: str
    batch: ForEachItemBatch = Field(default_factory=ForEachItemBatch)


@kestra_task("io.kestra.plugin.core.flow.ForEachItem$ForEachItemExecutable")
class ForEachItemExecutable(_Internal):
    """One child execution per batch; resolved by the decider, never sent to a worker."""

    flowable: ClassVar[bool] = True
    namespace: str
    flow_id: str
    revision: int | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    schedule_date: str | None = None


@kestra_task("io.kestra.plugin.core.flow.ForEachItem$ForEachItemMergeOutputs")
class ForEachItemMergeOutputs(_Internal):
    #: the children's flow outputs in iteration order, set by the decider when it sends the
    #: task to a worker (the decider does not touch storage; the worker writes the file)
    subflow_outputs: list[dict[str, Any]] | None = None


@kestra_task("io.kestra.plugin.core.flow.ForEachItem", "io.kestra.core.tasks.flows.ForEachItem")
class ForEachItem(Task):
    """Split `items` into batches and start one execution of `namespace`.`flowId` per batch."""

    flowable: ClassVar[bool] = True
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors")
    items: str = Field(min_length=1)
    batch: ForEachItemBatch = Field(default_factory=ForEachItemBatch)
    namespace: str = Field(min_length=1)
    flow_id: str = Field(min_length=1)
    revision: int | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    schedule_date: str | None = None
    errors: list[Task] = Field(default_factory=list)
    #: the three phases, built from the properties (a `tasks` in the YAML is ignored, as in Kestra)
    tasks: list[Task] = Field(default_factory=list)

    @model_validator(mode="after")
    def _phases(self) -> ForEachItem:
        self.tasks = [
            ForEachItemSplit(id=self.id + SPLIT_SUFFIX, type=ForEachItemSplit.type_name,
                             items=self.items, batch=self.batch),
            ForEachItemExecutable(
                id=self.id + ITEMS_SUFFIX, type=ForEachItemExecutable.type_name,
                namespace=self.namespace, flow_id=self.flow_id, revision=self.revision,
                inputs=self.inputs, labels=self.labels, wait=self.wait,
                transmit_failed=self.transmit_failed, inherit_labels=self.inherit_labels,
                schedule_date=self.schedule_date),
            ForEachItemMergeOutputs(id=self.id + MERGE_SUFFIX, type=ForEachItemMergeOutputs.type_name),
        ]
        return self


#: tasks whose attempts start child executions (resolved by the decider, not a worker)
STARTS_EXECUTIONS: tuple[type[Task], ...] = (Subflow, ForEachItemExecutable)
