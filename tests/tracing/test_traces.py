"""The spans of executions, received by a real OTLP/HTTP receiver from the services of a
stack of their own (OTEL_EXPORTER_OTLP_ENDPOINT set): one trace per execution, from the API
call or the schedule through the executor to each task run on the worker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack
from ostinato.tracing import execution_trace
from tests.api.conftest import wait_until_serving
from tests.diagnostics import print_service_logs
from tests.tracing.receiver import OtlpReceiver, ReceivedSpan

SERVER, CONSUMER = 2, 5  # OTLP's SpanKind numbers
STATUS_ERROR = 2

TWO_TASKS = """
id: traced
namespace: company.tracing
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: two
"""

EVERY_SECOND = """
id: ticking
namespace: company.tracing
tasks:
  - id: tick
    type: io.kestra.plugin.core.debug.Return
    format: tick
triggers:
  - id: every-second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
"""

#: a client's own trace, sent with the create request
CLIENT_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced_stack(receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(data_dir=tmp_path_factory.mktemp("traced"), api_port=free_port(),
                       services=("executor", "worker", "scheduler", "api"),
                       env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                            "OTEL_BSP_SCHEDULE_DELAY": "100"})
    stack.start()
    try:
        wait_until_serving(f"http://127.0.0.1:{stack.api_port}")
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def http(traced_stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    base = f"http://127.0.0.1:{traced_stack.api_port}/api/v1/main"
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client
    print_service_logs(request, traced_stack)


def deploy(http: httpx.Client, source: str) -> None:
    answer = http.post("/flows", content=source, headers={"Content-Type": "application/x-yaml"})
    assert answer.status_code == 200, answer.text


def named(spans: list[ReceivedSpan], prefix: str) -> list[ReceivedSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


def task_runs_ended(spans: list[ReceivedSpan]) -> bool:
    """Both tasks' spans and the executor's span that saw the execution end."""
    tasks = {span.attributes.get("kestra.taskId") for span in named(spans, "task ")}
    ended = [s for s in named(spans, "executor ") if s.attributes.get("kestra.state") == "SUCCESS"]
    return tasks == {"first", "second"} and bool(ended) and bool(named(spans, "POST "))


def test_one_trace_from_the_api_call_to_each_task_run(http: httpx.Client, receiver: OtlpReceiver) -> None:
    deploy(http, TWO_TASKS)
    answer = http.post("/executions/company.tracing/traced", headers={"traceparent": CLIENT_TRACEPARENT})
    assert answer.status_code == 200, answer.text
    execution_id = answer.json()["id"]
    trace_id, root_id = execution_trace(execution_id)
    spans = receiver.wait_for(f"{trace_id:032x}", task_runs_ended, what="the spans of the execution")

    # the API call is the root, named by its route, with the ids derived from the execution
    (api,) = named(spans, "POST ")
    assert (api.service, api.name, api.kind) == (
        "ostinato-api", "POST /api/v1/{tenant}/executions/{namespace}/{flowId}", SERVER)
    assert api.parent is None and api.span_id == f"{root_id:016x}"
    assert api.attributes["http.response.status_code"] == 200
    assert api.links == (CLIENT_TRACEPARENT.split("-")[2],), "the client's trace is linked"

    # one executor span per event, each a child of the root; the first handled the request
    executor = named(spans, "executor ")
    assert {span.service for span in executor} == {"ostinato-executor"}
    assert all(span.parent == api.span_id and span.kind == CONSUMER for span in executor)
    (requested,) = named(executor, "executor ExecutionRequested")
    assert requested.attributes["kestra.namespace"] == "company.tracing"
    assert requested.attributes["kestra.flowId"] == "traced"
    assert all(span.attributes["kestra.executionId"] == execution_id for span in spans)

    # a span per task run attempt, a child of the executor span that sent its task
    tasks = {span.attributes["kestra.taskId"]: span for span in named(spans, "task ")}
    assert set(tasks) == {"first", "second"} and len(named(spans, "task ")) == 2
    for task in tasks.values():
        assert task.service == "ostinato-worker"
        assert task.attributes["kestra.state"] == "SUCCESS" and task.attributes["kestra.attempt"] == 1
        assert task.attributes["kestra.taskRunId"]
    assert tasks["first"].parent == requested.span_id
    results = named(executor, "executor WorkerTaskResult")
    sender = next(s for s in results if tasks["first"].span_id in s.links)
    assert tasks["second"].parent in {s.span_id for s in results}, "sent after the first's result"
    assert sender.attributes["kestra.taskRunId"] == tasks["first"].attributes["kestra.taskRunId"]


def test_a_failed_task_run_is_an_error_span(http: httpx.Client, receiver: OtlpReceiver) -> None:
    deploy(http, TWO_TASKS.replace("id: traced", "id: failing").replace(
        "type: io.kestra.plugin.core.log.Log\n    message: two",
        "type: io.kestra.plugin.core.execution.Fail\n    errorMessage: broken"))
    answer = http.post("/executions/company.tracing/failing")
    assert answer.status_code == 200, answer.text
    trace_id, _ = execution_trace(answer.json()["id"])

    def failed(spans: list[ReceivedSpan]) -> bool:
        ended = [s for s in named(spans, "executor ") if s.attributes.get("kestra.state") == "FAILED"]
        return bool(ended) and len(named(spans, "task ")) == 2

    spans = receiver.wait_for(f"{trace_id:032x}", failed, what="the failed execution's spans")
    second = next(s for s in named(spans, "task ") if s.attributes["kestra.taskId"] == "second")
    assert second.attributes["kestra.state"] == "FAILED" and second.status == STATUS_ERROR


def test_a_schedule_fire_is_the_root_of_its_execution(http: httpx.Client, receiver: OtlpReceiver) -> None:
    deploy(http, EVERY_SECOND)

    def fired(spans: list[ReceivedSpan]) -> bool:
        return all(named(spans, name) for name in ("scheduler Schedule", "executor ExecutionRequested",
                                                   "task tick"))

    try:
        spans = receiver.wait_for_any(fired, what="the spans of a fired schedule")
    finally:
        assert http.delete("/flows/company.tracing/ticking").status_code in (200, 204)
    (root,) = named(spans, "scheduler Schedule")
    execution_id = root.attributes["kestra.executionId"]
    trace_id, root_id = execution_trace(execution_id)
    assert root.trace_id == f"{trace_id:032x}"
    assert (root.service, root.parent, root.span_id) == ("ostinato-scheduler", None, f"{root_id:016x}")
    assert root.attributes["kestra.triggerId"] == "every-second"
    assert all(span.parent == root.span_id for span in named(spans, "executor "))
    (tick,) = named(spans, "task tick")
    assert tick.parent in {span.span_id for span in named(spans, "executor ExecutionRequested")}
