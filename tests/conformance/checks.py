"""Running one corpus case and checking every field it asserts, on any runner.

A runner is the in-process driver (tests/conformance) or the real services on the embedded
broker (tests/services); both offer the small interface of `CorpusRunner`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import pytest

from ostinato.execution.model import Execution
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.model import Flow

from tests.conformance.corpus import Case, dig, first_run, matches, task_output


class LogLine(Protocol):
    task_run_id: str | None
    level: str
    message: str


class CorpusRunner(Protocol):
    """What a case needs from whatever runs it."""

    @property
    def now(self) -> datetime: ...
    @property
    def executions(self) -> Mapping[str, Execution]: ...
    def flow(self, namespace: str, flow_id: str) -> Flow: ...
    def run(self, flow: Flow, inputs: dict[str, Any], *, labels: dict[str, Any] | None,
            type_inputs: bool) -> Execution: ...
    def start(self, flow: Flow, inputs: dict[str, Any], *,
              schedule_date: datetime | None = None) -> str: ...
    def wait_state(self, execution_id: str, state: str) -> Execution: ...
    def wait_finished(self, execution_id: str) -> Execution: ...
    def resume(self, execution_id: str) -> None: ...
    def executions_of(self, namespace: str, flow_id: str, count: int) -> list[Execution]: ...
    def logs_of(self, execution_id: str) -> list[Any]: ...
    def wait_for(self, condition: Callable[[], Any], *, what: str) -> Any: ...


def _inputs_for(case: Case, tmp_path: Path) -> dict[str, Any]:
    inputs = dict(case.spec.get("inputs") or {})
    if inputs.pop("<same as inputFlow>", False):  # inputEmptyJsonFlow reuses inputFlow's map
        inputs = {**case.entry["cases"][0]["inputs"], **inputs}
    if "file" in inputs:  # the test uploads a local file named application-test.yml
        upload = tmp_path / "application-test.yml"
        upload.write_text("kestra:\n  test: true\n")
        inputs["file"] = str(upload)
    return {k: v for k, v in inputs.items() if not k.startswith("<")}


def _flow(runner: CorpusRunner, case: Case) -> Flow:
    flow_ref = case.entry["flow"]
    return runner.flow(flow_ref["namespace"], flow_ref["id"])


def run_case(case: Case, runner: CorpusRunner, tmp_path: Path) -> None:
    flow = _flow(runner, case)
    asserted = case.asserted
    special = SPECIAL.get(case.file)
    if special is not None:
        special(case, runner, flow, tmp_path)
        return
    if "typed_inputs" in asserted or "errors_contain" in asserted:
        _check_inputs(case, flow, tmp_path)
        return
    variants = case.spec.get("inputs_variants") or [case.spec.get("inputs")]
    for inputs in variants:
        case.spec["inputs"] = inputs
        given = _inputs_for(case, tmp_path)
        # Kestra's tests that pass no inputs start the execution without reading inputs at
        # all (RunnerUtils.runOne with a null inputs function), so none is typed or required.
        execution = runner.run(flow, given, labels=case.spec.get("labels_given"),
                               type_inputs=bool(given))
        check_execution(runner, execution, asserted)


# ------------------------------------------------------------------ generic checks


def check_execution(runner: CorpusRunner, execution: Execution, asserted: dict[str, Any]) -> None:
    runs = execution.task_run_list
    checks: dict[str, Callable[[Any], None]] = {
        "final_state": lambda v: matches(execution.state.current, v),
        "task_run_count": lambda v: matches(len(runs), v),
        "outputs": lambda v: [
            matches(task_output(execution, k), _placeholder(runner, execution, x), now=runner.now)
            for k, x in v.items()],
        "task_states": lambda v: [matches(first_run(execution, k).state.current, x) for k, x in v.items()],
        "task_run_states_by_index": lambda v: [matches(runs[i].state.current, x) for i, x in v.items()],
        "task_run_ids_by_index": lambda v: [matches(runs[i].task_id, x) for i, x in v.items()],
        "task_run_attempts_by_index": lambda v: [matches(len(runs[i].attempts), x) for i, x in v.items()],
        "task_run_output_by_index": lambda v: [matches(runs[i].outputs, x) for i, x in v.items()],
        "attempts": lambda v: [matches(len(first_run(execution, k).attempts), x) for k, x in v.items()],
        "attempt_states": lambda v: [
            matches([a.state.current for a in first_run(execution, k).attempts], x) for k, x in v.items()],
        "absent_task_ids": lambda v: [matches(execution.runs_of(k), []) for k in v],
        # Execution.outputs() is the flow's outputs, or, for a flow without any, Kestra's
        # older meaning: every task output nested by iteration values (current-output.yaml).
        "execution_outputs": lambda v: matches(
            execution.outputs if execution.outputs is not None or v is None else execution.task_outputs, v),
        "execution_outputs_size": lambda v: matches(len(execution.outputs or {}), v),
        "execution_inputs": lambda v: matches(execution.inputs, v),
        "failed_task_run_count": lambda v: matches(
            sum(1 for r in runs if r.state.current == "FAILED"), v),
        "logs": lambda v: _check_logs(runner, execution, v),
        "outputs_by_task_and_parent_values": lambda v: [
            matches(dig(execution.task_outputs[x["task"]], [str(p) for p in x["values"]])["value"], x["value"])
            for x in v],
        "child_execution": lambda v: _check_child(runner, execution, v),
        "grandchild_execution": lambda v: _check_child(runner, execution, v, depth=2),
        "output_relations": lambda v: _check_nested_relations(execution),
        "ordering": lambda v: _check_after_execution_order(execution),
        "initial_state": lambda v: None,  # checked by the scheduled-date case itself
    }
    unknown = set(asserted) - set(checks)
    assert not unknown, f"no check for asserted fields {sorted(unknown)}"
    for key, value in asserted.items():
        checks[key](value)


def _placeholder(runner: CorpusRunner, execution: Execution, expected: Any) -> Any:
    """`<id of the child ... execution>` stands for the id of this execution's child."""
    if isinstance(expected, str) and expected.startswith("<id of the child"):
        children = _children_of(runner, execution)
        assert len(children) == 1, f"expected one child execution, found {len(children)}"
        return children[0].id
    return expected


def _check_logs(runner: CorpusRunner, execution: Execution, expected: list[dict[str, Any]]) -> None:
    """Expected lines are waited for (logs travel on their own topic); a `none_emitted`
    check is made after the positive ones, when the other lines of the run have arrived."""
    runs = execution.task_run_list

    def scope(spec: dict[str, Any]) -> list[Any]:
        logs = runner.logs_of(execution.id)
        if "task_run_index" in spec:
            run_id = runs[spec["task_run_index"]].id
            return [line for line in logs if line.task_run_id == run_id]
        return logs

    def found(spec: dict[str, Any]) -> list[Any]:
        wanted = spec.get("message") or spec.get("contains")
        return [line for line in scope(spec)
                if (line.message == wanted if "message" in spec else wanted in line.message)
                and ("level" not in spec or line.level == spec["level"])]

    for spec in sorted(expected, key=lambda s: bool(s.get("none_emitted"))):
        if spec.get("none_emitted"):
            assert scope(spec) == [], f"expected no log, got {scope(spec)}"
            continue
        try:
            runner.wait_for(lambda: found(spec), what=f"log {spec}")
        except TimeoutError:
            lines = [(line.level, line.message) for line in scope(spec)]
            raise AssertionError(f"no log {spec} among {lines}") from None


def _children_of(runner: CorpusRunner, execution: Execution) -> list[Execution]:
    return [e for e in list(runner.executions.values())
            if (e.trigger or {}).get("variables", {}).get("executionId") == execution.id]


def _check_child(runner: CorpusRunner, parent: Execution, spec: dict[str, Any], depth: int = 1) -> None:
    level = [parent]
    for _ in range(depth):
        level = [child for e in level for child in _children_of(runner, e)]
    namespace, _, flow_id = spec["flow"].rpartition(".")
    children = [e for e in level if e.namespace == namespace and e.flow_id == flow_id]
    assert children, f"no child execution of {spec['flow']}"
    child = children[0]
    for key, value in spec.items():
        if key == "flow":
            continue
        if key == "final_state":
            matches(child.state.current, value)
        elif key == "task_run_count":
            matches(len(child.task_run_list), value)
        elif key == "trigger":
            expected = dict(value)
            expected["variables"] = {k: (parent.id if str(v).startswith("<") else v)
                                     for k, v in value["variables"].items()}
            matches(child.trigger, expected)
        elif key == "label_count":
            matches(len(child.labels), value)
        elif key == "labels_include":
            for label, label_value in value.items():
                wanted = parent.id if str(label_value).startswith("<") else label_value
                if depth == 2:
                    wanted = parent.id if str(label_value).startswith("<") else label_value
                matches(child.labels.get(label), wanted)
        else:
            raise AssertionError(f"no check for child field {key}")


def _check_nested_relations(execution: Execution) -> None:
    """each-sequential-nested: outputs nest by iteration values and refer to each other."""
    out = execution.task_outputs
    inner = out["1-2-1_return"]["s1"]["a a"]["value"]
    assert inner in first_run(execution, "2_return").outputs["value"]
    assert out["1-1_return"]["s1"]["value"] in out["1-3_return"]["s1"]["value"]
    assert "get " + inner in out["1-2-2_return"]["s1"]["a a"]["value"]


def _check_after_execution_order(execution: Execution) -> None:
    hello, end = first_run(execution, "hello"), first_run(execution, "end")
    assert end.state.start_date >= hello.state.end_date
    ended = [h.date for h in execution.state.histories if h.state == "SUCCESS"]
    assert ended and end.state.start_date >= ended[0]


def _check_inputs(case: Case, flow: Any, tmp_path: Path) -> None:
    asserted = case.asserted
    given = _inputs_for(case, tmp_path)
    store = lambda input_id, value: (  # noqa: E731
        f"kestra:///io/kestra/tests/inputs/executions/test/inputs/{input_id}/{Path(str(value)).name}")
    if "typed_inputs" in asserted:
        typed = type_inputs(flow.inputs, given, store_file=store, encrypt=lambda s: "encrypted:" + s[::-1])
        for key, expected in asserted["typed_inputs"].items():
            matches(typed[key], expected)
    for spec in asserted.get("errors_contain") or []:
        with pytest.raises(InputError) as caught:
            type_inputs(flow.inputs, {**given, **spec["input"]}, store_file=store)
        wanted = spec["message"].split(": ", 1)[1] if spec["message"].startswith("enum: ") else spec["message"]
        assert any(wanted in message for message in caught.value.errors), (wanted, caught.value.errors)


# ------------------------------------------------------------------ cases with an action


def _pause_counts(execution: Execution) -> dict[str, int]:
    run = first_run(execution, "pause")
    return {s: run.state.count(s) for s in ("PAUSED", "RUNNING", "FAILED")}


def _case_pause(case: Case, runner: CorpusRunner, flow: Any, tmp_path: Path) -> None:
    asserted = case.asserted
    execution_id = runner.start(flow, {})
    paused = runner.wait_state(execution_id, "PAUSED")
    when = asserted["when_paused"]
    matches(paused.state.current, when["final_state"])
    if "task_run_count" in when:
        matches(len(paused.task_run_list), when["task_run_count"])
    for index, state in (when.get("task_run_states_by_index") or {}).items():
        matches(paused.task_run_list[index].state.current, state)
    if "after_resume" in asserted:
        runner.resume(execution_id)
    execution = runner.wait_finished(execution_id)
    after = asserted.get("after_resume") or asserted.get("after_delay") or asserted.get("after_timeout")
    for key, value in after.items():
        if key == "pause_task_run_history_counts":
            counts = _pause_counts(execution)
            for state, count in value.items():
                matches(counts[state], count)
        else:
            check_execution(runner, execution, {key: value})


def _case_schedule_date(case: Case, runner: CorpusRunner, flow: Any, tmp_path: Path) -> None:
    execution_id = runner.start(flow, {}, schedule_date=runner.now + timedelta(seconds=1))
    created = runner.wait_state(execution_id, case.asserted["initial_state"])
    matches(created.state.current, case.asserted["initial_state"])
    finished = runner.wait_finished(execution_id)
    check_execution(runner, finished, {"final_state": case.asserted["final_state"]})


def _case_new_execution_retry(case: Case, runner: CorpusRunner, flow: Any, tmp_path: Path) -> None:
    expected = case.asserted["terminal_states_of_all_executions_of_this_flow"]
    runner.start(flow, {})
    count = len(next(iter(expected.values())))
    states = [e.state.current for e in runner.executions_of(flow.namespace, flow.id, count)]
    matches(states, expected)


def _case_concurrency(case: Case, runner: CorpusRunner, flow: Any, tmp_path: Path) -> None:
    first = runner.start(flow, {})
    runner.wait_state(first, "RUNNING")
    expected_1, expected_2 = case.asserted["execution_1"], case.asserted["execution_2"]
    if expected_1.get("running_before_2_starts"):
        assert runner.executions[first].state.current == "RUNNING"
    second = runner.start(flow, {})
    one, two = runner.wait_finished(first), runner.wait_finished(second)
    matches(one.state.current, expected_1["final_state"])
    matches(two.state.current, expected_2["final_state"])
    prefix = expected_2.get("state_history_prefix")
    if prefix:
        matches([h.state for h in two.state.histories][: len(prefix)], prefix)


def _flow_of_file(runner: CorpusRunner, file: str) -> Flow:
    from ostinato.flow.parser import parse_flow_file
    from tests.conformance.corpus import CORPUS_DIR

    parsed = parse_flow_file(CORPUS_DIR / file)
    return runner.flow(parsed.namespace, parsed.id)


def _triggered_by(runner: CorpusRunner, listener: Flow, upstream_ids: set[str], count: int) -> list[Execution]:
    """Finished executions of `listener` started by a Flow trigger on one of `upstream_ids`."""
    def found() -> list[Execution] | None:
        started = [e for e in list(runner.executions.values())
                   if (e.namespace, e.flow_id) == (listener.namespace, listener.id) and e.finished
                   and (e.trigger or {}).get("variables", {}).get("executionId") in upstream_ids]
        return started if len(started) >= count else None

    return sorted(runner.wait_for(found, what=f"{count} execution(s) of {listener.id} by its Flow trigger"),
                  key=lambda e: e.state.histories[0].date)


def _case_flow_trigger(case: Case, runner: CorpusRunner, flow: Any, tmp_path: Path) -> None:
    asserted = case.asserted
    upstream_flows = [_flow_of_file(runner, f) for f in case.entry["requires_flows"]]
    if "listener_execution" in asserted:  # preconditions: flow-a twice, then flow-b
        a, b = upstream_flows
        runs = [runner.run(f, {}, labels=None, type_inputs=False) for f in (a, a, b)]
        listener = _triggered_by(runner, flow, {r.id for r in runs}, 1)[0]
        check_execution(runner, listener, asserted["listener_execution"])
        return
    upstream = runner.run(upstream_flows[0], {}, labels=None, type_inputs=False)
    if "successful_executions" in asserted:
        started = _triggered_by(runner, flow, {upstream.id}, asserted["successful_executions"])
        matches(sum(e.state.current == "SUCCESS" for e in started), asserted["successful_executions"])
        matches([(e.outputs or {}).get("status") for e in started],
                asserted["execution_outputs_status_in_order"])
        return
    listener = _triggered_by(runner, flow, {upstream.id}, 1)[0]
    expected = {k: v for k, v in asserted.items() if k != "trigger_variables"}
    for index, output in (expected.pop("task_run_output_by_index", None) or {}).items():
        wanted = {k: str(v).replace("<trigger-flow execution id>", upstream.id) for k, v in output.items()}
        matches(listener.task_run_list[index].outputs, wanted)
    check_execution(runner, listener, expected)
    variables = {k: (upstream.id if str(v).startswith("<") else v)
                 for k, v in asserted["trigger_variables"].items()}
    matches(listener.trigger["variables"], variables)


def _case_webhook(case: Case, runner: CorpusRunner, flow: Any, tmp_path: Path) -> None:
    """The three calls of Kestra's ExecutionControllerTest#webhook, over HTTP to the API
    (the corpus describes them in prose; `api_url` is set by the services corpus)."""
    import httpx

    api_url = getattr(runner, "api_url", None)
    assert api_url, "the webhook cases need the API (runner.api_url)"
    url = f"{api_url}/api/v1/executions/webhook/{flow.namespace}/{flow.id}/a-secret-key"
    calls = [
        lambda: httpx.post(url, params=[("name", "john"), ("age", "12"), ("age", "13")],
                           json={"a": 1, "b": True}, timeout=30),
        lambda: httpx.put(url, json=[{"a": 1, "b": True}], timeout=30),
        lambda: httpx.post(url, content=b"bla", timeout=30),
    ]
    answer = calls[case.index]()
    assert answer.status_code == 200, answer.text
    execution = runner.wait_finished(answer.json()["id"])
    asserted = case.asserted
    for name, expected in asserted["trigger_variables"].items():
        matches(execution.trigger["variables"][name], expected)
    labels = list(execution.labels.items())
    for index, expected in (asserted.get("labels_by_index") or {}).items():
        matches(dict([labels[index]]), expected)


SPECIAL: dict[str, Callable[[Case, CorpusRunner, Any, Path], None]] = {
    "webhook.yaml": _case_webhook,
    "pause_no_tasks.yaml": _case_pause,
    "pause-delay.yaml": _case_pause,
    "pause-timeout.yaml": _case_pause,
    "pause_on_resume_optional.yaml": _case_pause,
    "minimal.yaml": _case_schedule_date,
    "retry-new-execution-task-attempts.yml": _case_new_execution_retry,
    "flow-concurrency-queue.yml": _case_concurrency,
    "flow-concurrency-cancel.yml": _case_concurrency,
    "flow-concurrency-fail.yml": _case_concurrency,
    "trigger-flow-listener.yaml": _case_flow_trigger,
    "trigger-flow-listener-no-inputs.yaml": _case_flow_trigger,
    "trigger-flow-listener-with-pause.yaml": _case_flow_trigger,
    "flow-trigger-preconditions-flow-listen.yaml": _case_flow_trigger,
}
