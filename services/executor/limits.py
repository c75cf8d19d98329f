"""The executor's size rules, as pure functions: the context limit of an execution
(DESIGN.md, invariant 4) and the largest record it may produce (invariant 9)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Iterable
from typing import Any

from ostinato.decider import events as ev
from ostinato.execution import StateType
from ostinato.execution.model import Execution
from ostinato.wire import records as rec

#: what Kafka adds to a record's key and value (headers, lengths, batch framing): kept
#: free under the producer's `message.max.bytes`
RECORD_OVERHEAD = 512

#: how much larger than the context limit a record may be (an execution's records also
#: carry its bookkeeping, a worker task its task definition)
RECORD_FACTOR = 4


def max_record_bytes(context_limit: int) -> int:
    """The producer's `message.max.bytes` for a context limit."""
    return RECORD_FACTOR * context_limit


@dataclass(frozen=True)
class ContextSize:
    """An execution's context in bytes of JSON (DESIGN.md invariant 4): what its templates
    read. Task-run bookkeeping (ids, states, attempts, ForEach values) is not context."""

    #: inputs, trigger, labels and the flow's outputs
    base: int
    #: the outputs of its task runs (all but the one being measured for)
    outputs: int

    @property
    def total(self) -> int:
        return self.base + self.outputs


def _json_size(value: Any) -> int:
    return len(rec.to_json(value).encode()) if value else 0


class ContextMeter:
    """Measures an execution's context at a cost that does not grow with its task runs: the
    outputs' total is kept up to date from the runs each decision changed (`note`), each
    run's outputs encoded once per new outputs object; the whole execution is walked only
    the first time (a live entry created or restored) or when runs disappeared."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[Any, int]] = {}
        self._outputs_total = 0
        self._primed = False
        self._parts: dict[str, tuple[Any, int]] = {}

    def measure(self, execution: Execution, *, excluding: str | None = None) -> ContextSize:
        """The context of `execution`, leaving out the outputs of task run `excluding` (the
        run whose new outputs are being weighed: they replace its old ones)."""
        if not self._primed:
            self._prime(execution)
        base = sum(self._part(name, value) for name, value in (
            ("inputs", execution.inputs), ("trigger", execution.trigger),
            ("labels", execution.labels), ("outputs", execution.outputs)))
        outputs = self._outputs_total
        if excluding is not None and excluding in self._runs:
            outputs -= self._runs[excluding][1]
        return ContextSize(base, outputs)

    def note(self, execution: Execution, changed: Iterable[str]) -> None:
        """The task runs `changed` by a decision may have new outputs: re-weigh them."""
        if not self._primed:
            return  # the first measure walks everything
        if len(execution.task_run_list) < len(self._runs):
            self._primed = False  # runs were removed: walk again at the next measure
            return
        for run_id in changed:
            run = execution.find(run_id)
            self._weigh(run_id, run.outputs if run is not None else None)

    def _prime(self, execution: Execution) -> None:
        self._runs.clear()
        self._outputs_total = 0
        for run in execution.task_run_list:
            self._weigh(run.id, run.outputs)
        self._primed = True

    def _weigh(self, run_id: str, outputs: Any) -> None:
        known = self._runs.get(run_id)
        if known is not None and known[0] is outputs:
            return
        size = _json_size(outputs) if outputs else 0
        self._outputs_total += size - (known[1] if known is not None else 0)
        self._runs[run_id] = (outputs, size)

    def _part(self, name: str, value: Any) -> int:
        """The JSON size of one part of the base, encoded again only when it changed."""
        known = self._parts.get(name)
        if known is None or known[0] is not value:
            known = self._parts[name] = (value, _json_size(value))
        return known[1]


def context_overflow(event: ev.WorkerTaskResult, context: ContextSize, limit: int) -> str | None:
    """Why `event`'s outputs may not join an execution whose context is `context` (the
    message names the outputs' size, the context's with them, the limit and the parts);
    None when they fit."""
    if not event.outputs:
        return None
    added = _json_size(event.outputs)
    total = context.total + added
    if total <= limit:
        return None
    return (f"The outputs of this task run are {added} bytes: with them the execution's context "
            f"would be {total} bytes, over the context limit of {limit} bytes (inputs, trigger "
            f"and labels: {context.base} bytes; outputs of its other task runs: "
            f"{context.outputs} bytes). Store large data in internal storage (for example "
            f"with outputFiles) and pass its kestra:// URI instead.")


def failed_for_context(event: ev.WorkerTaskResult, message: str) -> ev.WorkerTaskResult:
    """The result as the decider must see it: FAILED, without its outputs, `message` logged."""
    return replace(event, state=StateType.FAILED, outputs=None,
                   logs=[*event.logs, {"level": "ERROR", "message": message}])


class RecordTooLarge(ValueError):
    """A record of one execution is over the largest record the executor produces."""


def check_record_size(record_name: str, what: str, key: str | None, value: bytes,
                      context_limit: int) -> None:
    """Raise RecordTooLarge, with a message naming the sizes and the limit, when the
    record (`record_name` for `what`) would not fit the producer's `message.max.bytes`."""
    limit = max_record_bytes(context_limit)
    size = len(value) + len((key or "").encode())
    if size + RECORD_OVERHEAD <= limit:
        return
    raise RecordTooLarge(
        f"The {record_name} record of {what} is {size} bytes: with {RECORD_OVERHEAD} bytes of "
        f"framing it is over {limit} bytes, the largest record the executor writes "
        f"({RECORD_FACTOR} x the context limit of {context_limit} bytes). Store large data in "
        f"internal storage and pass its kestra:// URI instead.")
