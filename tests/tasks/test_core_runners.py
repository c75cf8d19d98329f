"""Return, Log, OutputValues, Fail and Sleep through run_task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conftest import FIXED_NOW, FakeSleep

from ostinato.flow.tasks import Task
from ostinato.tasks import RunContext, TaskOutcome, run_task


def task(data: dict[str, Any]) -> Task:
    return Task.model_validate({"id": "t", **data})


def run(
    data: dict[str, Any],
    variables: dict[str, Any] | None = None,
    clock: Any = lambda: FIXED_NOW,
    sleep: Any = None,
) -> TaskOutcome:
    ctx = RunContext(variables=variables or {}, clock=clock)
    if sleep is not None:
        ctx.sleep = sleep
    return run_task(task(data), ctx)


RETURN = "io.kestra.plugin.core.debug.Return"
LOG = "io.kestra.plugin.core.log.Log"
OUTPUT_VALUES = "io.kestra.plugin.core.output.OutputValues"
FAIL = "io.kestra.plugin.core.execution.Fail"
SLEEP = "io.kestra.plugin.core.flow.Sleep"


# ------------------------------------------------------------------ Return

def test_return_renders_format() -> None:
    outcome = run({"type": RETURN, "format": "{{ task.id }}"}, {"task": {"id": "x"}})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {"value": "x"}
    assert [(l.level, l.message) for l in outcome.logs] == [("DEBUG", "x")]
    names = [m["name"] for m in outcome.metrics]
    assert names == ["length", "duration"]
    assert outcome.metrics[0]["value"] == 1


def test_return_old_alias_and_plain_text() -> None:
    outcome = run({"type": "io.kestra.core.tasks.debugs.Return", "format": "hello"})
    assert outcome.outputs == {"value": "hello"}


def test_return_without_format_is_none() -> None:
    outcome = run({"type": RETURN})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {"value": None}
    assert outcome.logs == []


def test_return_scalar_format_is_a_string() -> None:
    assert run({"type": RETURN, "format": 1}).outputs == {"value": "1"}
    assert run({"type": RETURN, "format": True}).outputs == {"value": "true"}


def test_return_render_error_fails_with_expression_message() -> None:
    from ostinato.expressions import ExpressionError, render

    expected: str | None
    try:
        render("{{ missing.thing }}", {})
        expected = None
    except ExpressionError as exc:
        expected = str(exc)
    else:  # pragma: no cover - depends on the expression engine
        expected = None
    outcome = run({"type": RETURN, "format": "{{ missing.thing }}"})
    if expected is not None:
        assert outcome.state == "FAILED"
        assert outcome.logs[-1].level == "ERROR"
        assert outcome.logs[-1].message == expected


# ------------------------------------------------------------------ Log

def test_log_string_at_level() -> None:
    outcome = run({"type": LOG, "message": "hi {{ inputs.name }}", "level": "WARN"},
                  {"inputs": {"name": "bob"}})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {}
    assert [(l.level, l.message, l.timestamp) for l in outcome.logs] == [
        ("WARN", "hi bob", FIXED_NOW)
    ]


def test_log_default_level_is_info() -> None:
    assert [l.level for l in run({"type": LOG, "message": "m"}).logs] == ["INFO"]


def test_log_list_logs_each_item() -> None:
    outcome = run(
        {"type": "io.kestra.core.tasks.log.Log", "message": ["one", "{{ task.id }}"],
         "level": "DEBUG"},
        {"task": {"id": "two"}},
    )
    assert [(l.level, l.message) for l in outcome.logs] == [("DEBUG", "one"), ("DEBUG", "two")]


def test_log_trace_without_log_level_is_emitted() -> None:
    # Kestra's logs.yaml: a TRACE message without logLevel is emitted...
    outcome = run({"type": LOG, "message": "third {{ flow.id }}", "level": "TRACE"},
                  {"flow": {"id": "logs"}})
    assert [(l.level, l.message) for l in outcome.logs] == [("TRACE", "third logs")]


def test_log_trace_with_log_level_info_is_dropped() -> None:
    # ... while one with `logLevel: INFO` is not.
    outcome = run({"type": LOG, "message": "fourth", "level": "TRACE", "logLevel": "INFO"})
    assert outcome.state == "SUCCESS"
    assert outcome.logs == []


def test_log_level_from_context_wins() -> None:
    ctx = RunContext(variables={}, log_level="ERROR")
    outcome = run_task(task({"type": LOG, "message": "m", "level": "WARN"}), ctx)
    assert outcome.logs == []


# ------------------------------------------------------------------ OutputValues

def test_output_values_render_and_keep_types() -> None:
    outcome = run(
        {
            "type": OUTPUT_VALUES,
            "values": {
                "key1": "value1",
                "key2": "{{ task.id }}",
                "number": 1,
                "flag": False,
                "nested": {"list": ["{{ task.id }}", 2.5]},
            },
        },
        {"task": {"id": "x"}},
    )
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {
        "values": {
            "key1": "value1",
            "key2": "x",
            "number": 1,
            "flag": False,
            "nested": {"list": ["x", 2.5]},
        }
    }
    assert isinstance(outcome.outputs["values"]["number"], int)


def test_output_values_empty() -> None:
    assert run({"type": "io.kestra.core.tasks.outputs.OutputValues"}).outputs == {"values": {}}


# ------------------------------------------------------------------ Fail

def test_fail_without_condition() -> None:
    outcome = run({"type": FAIL})
    assert outcome.state == "FAILED"
    assert [(l.level, l.message) for l in outcome.logs] == [("ERROR", "Task failure")]


def test_fail_renders_error_message() -> None:
    outcome = run({"type": FAIL, "errorMessage": "bad {{ inputs.x }}"}, {"inputs": {"x": "input"}})
    assert outcome.state == "FAILED"
    assert outcome.logs[-1].message == "bad input"


def test_fail_condition_true_fails() -> None:
    outcome = run(
        {"type": FAIL, "condition": "{{ inputs.x == 'fail' }}", "errorMessage": "told to"},
        {"inputs": {"x": "fail"}},
    )
    assert outcome.state == "FAILED"
    assert outcome.logs[-1].level == "ERROR"
    assert outcome.logs[-1].message == "told to"


def test_fail_condition_false_succeeds() -> None:
    outcome = run(
        {"type": FAIL, "condition": "{{ inputs.x == 'fail' }}"}, {"inputs": {"x": "ok"}}
    )
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {}
    assert outcome.logs == []


def test_fail_boolean_condition() -> None:
    assert run({"type": FAIL, "condition": True}).state == "FAILED"
    assert run({"type": FAIL, "condition": False}).state == "SUCCESS"


# ------------------------------------------------------------------ Sleep

def test_sleep_uses_injected_sleep(fake_sleep: FakeSleep) -> None:
    outcome = run({"type": SLEEP, "duration": "PT1.5S"}, sleep=fake_sleep)
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {}
    assert fake_sleep.calls == [1.5]


def test_sleep_renders_duration(fake_sleep: FakeSleep) -> None:
    outcome = run(
        {"type": "io.kestra.core.tasks.flows.Sleep", "duration": "{{ inputs.d }}"},
        {"inputs": {"d": "PT2M"}},
        sleep=fake_sleep,
    )
    assert outcome.state == "SUCCESS"
    assert fake_sleep.calls == [120.0]


def test_sleep_bad_rendered_duration_fails(fake_sleep: FakeSleep) -> None:
    outcome = run({"type": SLEEP, "duration": "{{ inputs.d }}"}, {"inputs": {"d": "soon"}},
                  sleep=fake_sleep)
    assert outcome.state == "FAILED"
    assert fake_sleep.calls == []
    assert "soon" in outcome.logs[-1].message


def test_sleep_killed_by_injected_sleep() -> None:
    from ostinato.tasks import TaskKilled

    def killing_sleep(seconds: float) -> None:
        raise TaskKilled("killed while sleeping")

    outcome = run({"type": SLEEP, "duration": "PT1H"}, sleep=killing_sleep)
    assert outcome.state == "KILLED"


def test_clock_is_the_time_source() -> None:
    ticks: list[datetime] = []

    def clock() -> datetime:
        ticks.append(datetime(2020, 1, 1, 0, 0, len(ticks), tzinfo=FIXED_NOW.tzinfo))
        return ticks[-1]

    outcome = run({"type": LOG, "message": "m"}, clock=clock)
    assert outcome.logs[0].timestamp in ticks
    assert outcome.logs[0].timestamp.year == 2020
