"""The executor's size rules, as pure functions: the context limit of an execution
(DESIGN.md, invariant 4) and the largest record it may produce (invariant 9)."""

from __future__ import annotations

from dataclasses import replace

from ostinato.decider import events as ev
from ostinato.execution import StateType
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


def context_overflow(event: ev.WorkerTaskResult, context_size: int, limit: int) -> str | None:
    """Why `event`'s outputs may not join an execution whose context is `context_size`
    bytes (the message names both sizes and the limit); None when they fit."""
    if not event.outputs:
        return None
    added = len(rec.to_json(event.outputs).encode())
    total = context_size + added
    if total <= limit:
        return None
    return (f"The outputs of this task run are {added} bytes: with them the execution "
            f"would be {total} bytes, over the context limit of {limit} bytes. Store large "
            f"data in internal storage (for example with outputFiles) and pass its "
            f"kestra:// URI instead.")


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
