"""The executor's handling of one inbox record, without a broker: the clients are left out
(the records it would produce are collected), the store is a real RocksDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ostinato.decider import Decision, Settings, decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.flow.revisions import FlowRevision
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.messages import Received
from ostinato.store.executions import ExecutionStore, StoreBatch
from ostinato.wire import records as rec
from ostinato.wire.codec import default_codec
from ostinato.services.executor.emitter import Emitter
from ostinato.services.executor.inbox import InboxHandler
from ostinato.services.executor.limits import (
    ContextSize, RecordTooLarge, check_record_size, context_overflow)
from ostinato.services.executor.state import ExecutorState
from ostinato.services.executor.waits import FlowWaits

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
FLOW = """
id: unit
namespace: tests.inbox
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
"""


class Collected:
    """A sink that keeps what the executor would produce."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str | None, bytes | None]] = []

    def send(self, topic: str, key: str | None, value: bytes | None, *,
             partition: int | None = None) -> None:
        self.records.append((topic, key, value))

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [default_codec().decode(value)[1] for t, _, value in self.records
                if t == topic and value is not None]


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[ExecutorState, FlowTable, ExecutionStore]]:
    codec = default_codec()
    kafka = KafkaSettings(bootstrap_servers="unused:9092")
    store = ExecutionStore(tmp_path / "executions")
    flows = FlowTable(kafka, codec)
    flows.add(FlowRevision(namespace="tests.inbox", id="unit", revision=1, source=FLOW, updated=AT))
    try:
        yield ExecutorState(kafka, codec, store), flows, store
    finally:
        store.close()


def handler(parts: tuple[ExecutorState, FlowTable, ExecutionStore], decide_with: Any = decide,
            context_limit: int = 1 << 20) -> InboxHandler:
    state, flows, store = parts
    codec = default_codec()
    emitter = Emitter(codec, state, store, context_limit=context_limit, revision_of=lambda c, p: 1)
    return InboxHandler(codec, flows, state, emitter, FlowWaits(None, flows, 1.0),
                        context_limit=context_limit, settings=Settings(), decide=decide_with)


def request(execution_id: str = "exec-1") -> ev.ExecutionRequested:
    return ev.ExecutionRequested(id=str(uuid.uuid4()), at=AT, execution_id=execution_id,
                                 namespace="tests.inbox", flow_id="unit", flow_revision=1)


def received(event: ev.Event, key: str | None = None, offset: int = 0) -> Received:
    name, record = rec.event_to_record(event)
    return Received(topic="ostinato.executor", partition=0, offset=offset,
                    key=event.execution_id if key is None else key,
                    value=default_codec().encode(name, record))


def stored(state: ExecutorState, execution_id: str, batch: StoreBatch) -> dict[str, Any]:
    value = batch.puts[state.store.header_key(0, execution_id)]
    return default_codec().decode(value, expected="ExecutionHeader")[1]


def test_an_event_whose_decision_raises_fails_its_execution_and_is_dead_lettered(parts: Any) -> None:
    def raising(flow: Flow | None, execution: Execution | None, event: ev.Event,
                settings: Settings | None = None) -> Decision:
        if isinstance(event, ev.ExecutionRequested):
            raise ZeroDivisionError("a flowable divided by zero")
        return decide(flow, execution, event, settings)

    inbox, sink, batch = handler(parts, raising), Collected(), StoreBatch()
    assert inbox.handle(received(request()), sink, batch) is True
    letters = sink.on("dead-letters")
    assert len(letters) == 1 and "ZeroDivisionError: a flowable divided by zero" in letters[0]["reason"]
    assert stored(parts[0], "exec-1", batch)["state"]["current"] == "FAILED"
    logs = sink.on("logs")
    assert len(logs) == 1 and logs[0]["level"] == "ERROR"
    assert "ZeroDivisionError" in logs[0]["message"] and "Traceback" in logs[0]["message"]
    assert "test_inbox.py" in logs[0]["message"], "the traceback names where it raised"
    assert [r["state"]["current"] for r in sink.on("execution-results")] == ["FAILED"]


def test_an_event_whose_failure_raises_too_is_dead_lettered_and_the_handler_goes_on(parts: Any) -> None:
    def always_raising(*args: Any) -> Decision:
        raise RuntimeError("broken beyond repair")

    inbox, sink, batch = handler(parts, always_raising), Collected(), StoreBatch()
    assert inbox.handle(received(request()), sink, batch) is True
    assert [t for t, _, _ in sink.records] == ["dead-letters"]
    assert not batch.puts
    # the next event is handled as usual
    healthy = handler(parts)
    assert healthy.handle(received(request("exec-2"), offset=1), sink, batch) is True
    assert stored(parts[0], "exec-2", batch)["state"]["current"] == "RUNNING"


def test_a_record_whose_key_is_not_its_execution_id_is_refused(parts: Any) -> None:
    inbox, sink, batch = handler(parts), Collected(), StoreBatch()
    assert inbox.handle(received(request(), key="someone-else"), sink, batch) is True
    letters = sink.on("dead-letters")
    assert [t for t, _, _ in sink.records] == ["dead-letters"]
    assert "`someone-else`" in letters[0]["reason"] and "`exec-1`" in letters[0]["reason"]
    assert not batch.puts and parts[0].live == {}


def test_a_record_that_does_not_decode_is_dead_lettered(parts: Any) -> None:
    inbox, sink, batch = handler(parts), Collected(), StoreBatch()
    garbage = Received(topic="ostinato.executor", partition=0, offset=3, key="k", value=b"\x00junk")
    assert inbox.handle(garbage, sink, batch) is True
    letters = sink.on("dead-letters")
    assert len(letters) == 1 and letters[0]["offset"] == 3 and letters[0]["reason"]


def test_a_record_too_large_fails_its_execution_and_writes_nothing_else_of_the_decision(parts: Any) -> None:
    # a context limit of 100 bytes: the execution's first records are over 400
    inbox, sink, batch = handler(parts, context_limit=100), Collected(), StoreBatch()
    assert inbox.handle(received(request()), sink, batch) is True
    assert "RecordTooLarge" in sink.on("dead-letters")[0]["reason"]
    assert not sink.on("worker-tasks"), "the decision that did not fit sent nothing"


def test_the_context_limit_names_both_sizes_and_the_limit() -> None:
    result = ev.WorkerTaskResult("e1", AT, "exec-1", "run-1", 1, "SUCCESS", outputs={"v": "x" * 600})
    assert context_overflow(result, ContextSize(100, 0), limit=1000) is None
    message = context_overflow(result, ContextSize(400, 100), limit=1000)
    assert message is not None
    assert "over the context limit of 1000 bytes" in message and "internal storage" in message
    sizes = [int(word) for word in message.split() if word.isdigit()]
    assert sizes[1] > 1000 and sizes[1] == 500 + sizes[0], message


def test_a_record_over_four_times_the_context_limit_is_refused_with_its_size() -> None:
    check_record_size("TaskRun", "task run r", "key", b"x" * 3400, context_limit=1000)
    with pytest.raises(RecordTooLarge, match=r"is 5003 bytes: .* over 4000 bytes.*context limit of 1000"):
        check_record_size("TaskRun", "task run r", "key", b"x" * 5000, context_limit=1000)


def test_an_event_whose_records_the_broker_refused_fails_then_is_dead_lettered_then_skipped(
        parts: Any) -> None:
    """The service reads a refused batch again one event at a time and counts the refusals
    of an event alone (ExecutorService._run_again): the handler acts on that count."""
    inbox, batch = handler(parts), StoreBatch()
    first = Collected()
    assert inbox.handle(received(request()), first, batch) is True  # the execution runs
    inbox.undeliverable[(0, 1)] = (1, "Broker: Message size too large")
    result = ev.WorkerTaskResult("r1", AT, "exec-1", "no-such-run", 1, "RUNNING")
    failing = Collected()
    assert inbox.handle(received(result, offset=1), failing, batch) is True
    assert "DeliveryRefused: Broker: Message size too large" in failing.on("dead-letters")[0]["reason"]
    assert [r["state"]["current"] for r in failing.on("execution-results")] == ["FAILED"]
    inbox.undeliverable[(0, 1)] = (2, "Broker: Message size too large")
    second = Collected()
    assert inbox.handle(received(result, offset=1), second, batch) is True
    assert [t for t, _, _ in second.records] == ["dead-letters"]
    inbox.undeliverable[(0, 1)] = (3, "Broker: Message size too large")
    third = Collected()
    assert inbox.handle(received(result, offset=1), third, batch) is True
    assert third.records == []
