"""The executor's size rules, as pure functions: the context limit of an execution
(DESIGN.md, invariant 4) and the largest record it may produce (invariant 9)."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    """Measures an execution's context, encoding each task run's outputs once: a run whose
    outputs object is the one measured last time is not encoded again, so the cost per
    result is a walk over the runs, not a serialisation of the execution."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[Any, int]] = {}
        self._inputs: tuple[Any, int] = (None, 0)

    def measure(self, execution: Execution, *, excluding: str | None = None) -> ContextSize:
        """The context of `execution`, leaving out the outputs of task run `excluding` (the
        run whose new outputs are being weighed: they replace its old ones)."""
        if self._inputs[0] is not execution.inputs:
            self._inputs = (execution.inputs, _json_size(execution.inputs))
        base = (self._inputs[1] + _json_size(execution.trigger) + _json_size(execution.labels)
                + _json_size(execution.outputs))
        outputs = 0
        for run in execution.task_run_list:
            if run.id == excluding or not run.outputs:
                continue
            known = self._runs.get(run.id)
            if known is None or known[0] is not run.outputs:
                known = self._runs[run.id] = (run.outputs, _json_size(run.outputs))
            outputs += known[1]
        return ContextSize(base, outputs)


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
