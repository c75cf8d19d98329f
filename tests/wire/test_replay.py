"""The decider fed through the wire decides exactly as the decider fed in memory.

A runner round-trips every event through its record and bytes, and before each decision
restores the execution from its changelog records (ExecutionHeader + TaskRuns, through
bytes, task outputs rebuilt): the executions and logs it ends with must equal those of
the plain in-process runner. Flows: a few of our own, and Kestra's corpus when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ostinato.decider import events as ev
from ostinato.flow.parser import parse_flow, parse_flow_file
from ostinato.inprocess import InProcessRunner
from ostinato.wire import (
    default_codec,
    event_to_record,
    execution_from_changelog,
    execution_header_record,
    execution_update_record,
    record_to_event,
    task_run_records,
)

from tests.conformance.corpus import CORPUS_DIR, corpus_available, corpus_flow_files


class WireRunner(InProcessRunner):
    """Every event and every execution goes through the wire between two decisions."""

    def _apply(self, event: ev.Event) -> None:
        codec = default_codec()
        name, record = codec.decode(codec.encode(*event_to_record(event)))
        event = record_to_event(name, record)
        execution = self.executions.get(event.execution_id)
        if execution is not None:
            header = codec.decode(codec.encode("ExecutionHeader", execution_header_record(execution)))[1]
            runs = [codec.decode(codec.encode("TaskRun", r))[1]
                    for r in task_run_records(execution, [r.id for r in execution.task_run_list])]
            restored = execution_from_changelog(header, reversed(runs))
            assert restored.to_dict() == execution.to_dict(), "the changelog lost something"
            self.executions[execution.id] = restored
        super()._apply(event)
        after = self.executions.get(event.execution_id)
        if after is not None:  # what goes on `executions`: it encodes
            codec.encode("ExecutionUpdate", execution_update_record(after, []))


OWN_FLOWS = [
    """
id: each
namespace: wire.test
inputs:
  - id: n
    type: INT
    defaults: 2
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    concurrencyLimit: 0
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.EachSequential
        value: ["1", "2"]
        tasks:
          - id: ret
            type: io.kestra.plugin.core.debug.Return
            format: "{{ parents[0].taskrun.value }}-{{ taskrun.value }}"
          - id: echo
            type: io.kestra.plugin.core.debug.Return
            format: "{{ outputs.ret[parents[0].taskrun.value][taskrun.value].value }}"
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.ret.b['2'].value }} {{ inputs.n }}"
outputs:
  - id: last
    type: STRING
    value: "{{ outputs.after.value }}"
""",
    """
id: retry
namespace: wire.test
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    retry:
      type: constant
      interval: PT1S
      maxAttempts: 3
errors:
  - id: handler
    type: io.kestra.plugin.core.log.Log
    message: "{{ errorLogs() }}"
finally:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT2S
""",
]


def _stable(data: Any) -> Any:
    """`data` without the values of timer metrics (wall-clock durations of the runners)."""
    if isinstance(data, dict):
        if data.get("type") == "timer" and "value" in data:
            return {k: v for k, v in data.items() if k != "value"}
        return {k: _stable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_stable(v) for v in data]
    return data


def _compare(tmp_path: Path, flows: list[Any], start: Any) -> int:
    plain = InProcessRunner(storage_dir=tmp_path / "plain")
    wired = WireRunner(storage_dir=tmp_path / "wired")
    for runner in (plain, wired):
        for flow in flows:
            runner.deploy(flow)
    try:
        start(plain)
    except Exception as error:  # a case that fails in memory fails the same way on the wire
        with pytest.raises(type(error)):
            start(wired)
        return 0
    start(wired)
    assert sorted(wired.executions) == sorted(plain.executions)
    for execution_id, execution in plain.executions.items():
        other = wired.executions[execution_id]
        assert _stable(other.to_dict()) == _stable(execution.to_dict()), execution_id
        assert other.task_outputs == execution.task_outputs
    assert [vars(line) for line in wired.logs] == [vars(line) for line in plain.logs]
    return len(plain.executions)


@pytest.mark.parametrize("source", OWN_FLOWS, ids=["each", "retry"])
def test_own_flows(tmp_path: Path, source: str) -> None:
    flow = parse_flow(source)
    assert _compare(tmp_path, [flow], lambda r: r.run(r.flows[(flow.namespace, flow.id)])) == 1


@pytest.mark.skipif(not corpus_available(), reason=f"the Kestra corpus is not at {CORPUS_DIR}")
def test_kestra_corpus(tmp_path: Path) -> None:
    flows = []
    for path in corpus_flow_files():
        try:
            flows.append(parse_flow_file(path))
        except Exception:
            continue  # invalid on purpose: not this test's business
    checked = 0
    for flow in flows:
        checked += _compare(
            tmp_path / flow.id, flows,
            lambda r, f=flow: r.run(r.flows[(f.namespace, f.id)], {}, type_inputs=False),
        )
    assert checked >= len(flows)  # every flow started an execution
