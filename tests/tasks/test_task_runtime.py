"""run_task: outcomes, error reporting, runner lookup, RunContext logging and rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from ostinato.flow.tasks import Sequential, Task
from ostinato.tasks import (
    LogLine,
    RunContext,
    TaskFailed,
    TaskKilled,
    TaskWarning,
    register_runner,
    run_task,
    runner_for,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


class PluginTask(Task):
    """A task class a plugin defines (not registered as a flow type: built directly)."""

    type_name: ClassVar[str] = "com.example.Plugin"
    mode: str = "ok"


class UnregisteredTask(Task):
    type_name: ClassVar[str] = "com.example.Unregistered"


class PluginSubTask(PluginTask):
    pass


def plugin_runner(task: PluginTask, ctx: RunContext) -> dict[str, Any]:
    from ostinato.expressions import ExpressionError

    ctx.log("INFO", f"running {task.id}")
    if task.mode == "fail":
        raise TaskFailed("plugin said no", outputs={"partial": 1})
    if task.mode == "warn":
        raise TaskWarning("careful", outputs={"x": 2})
    if task.mode == "kill":
        raise TaskKilled()
    if task.mode == "boom":
        raise KeyError("missing")
    if task.mode == "value":
        raise ValueError("bad value")
    if task.mode == "expr":
        raise ExpressionError("Unable to find `nope` used in the expression `{{ nope }}`")
    if task.mode == "none":
        return None  # type: ignore[return-value]
    if task.mode == "notmapping":
        return [1, 2]  # type: ignore[return-value]
    return {"answer": 42}


register_runner(PluginTask, plugin_runner)


def make(mode: str, **extra: Any) -> PluginTask:
    return PluginTask(id="p", type="com.example.Plugin", mode=mode, **extra)


def ctx(**kwargs: Any) -> RunContext:
    return RunContext(variables={}, clock=lambda: NOW, **kwargs)


def test_success_outputs_and_logs() -> None:
    outcome = run_task(make("ok"), ctx())
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {"answer": 42}
    assert outcome.logs == [LogLine("INFO", "running p", NOW)]
    assert outcome.metrics == []


def test_task_failed_logs_message_as_is_and_keeps_outputs() -> None:
    outcome = run_task(make("fail"), ctx())
    assert outcome.state == "FAILED"
    assert outcome.outputs == {"partial": 1}
    assert outcome.logs[-1] == LogLine("ERROR", "plugin said no", NOW)


def test_other_exceptions_are_named() -> None:
    outcome = run_task(make("value"), ctx())
    assert outcome.state == "FAILED"
    assert outcome.outputs == {}
    assert outcome.logs[-1].level == "ERROR"
    assert outcome.logs[-1].message == "ValueError: bad value"
    assert run_task(make("boom"), ctx()).logs[-1].message == "KeyError: 'missing'"


def test_expression_error_message_is_kept_as_is() -> None:
    outcome = run_task(make("expr"), ctx())
    assert outcome.state == "FAILED"
    assert outcome.logs[-1] == LogLine(
        "ERROR", "Unable to find `nope` used in the expression `{{ nope }}`", NOW
    )


def test_warning_and_killed() -> None:
    warned = run_task(make("warn"), ctx())
    assert warned.state == "WARNING"
    assert warned.outputs == {"x": 2}
    assert warned.logs[-1] == LogLine("WARN", "careful", NOW)
    assert run_task(make("kill"), ctx()).state == "KILLED"


def test_none_outputs_mean_empty_and_non_mapping_fails() -> None:
    assert run_task(make("none"), ctx()).outputs == {}
    bad = run_task(make("notmapping"), ctx())
    assert bad.state == "FAILED"
    assert "not a mapping" in bad.logs[-1].message


def test_flowable_task_is_refused() -> None:
    task = Task.model_validate(
        {
            "id": "seq",
            "type": "io.kestra.plugin.core.flow.Sequential",
            "tasks": [{"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "x"}],
        }
    )
    assert isinstance(task, Sequential)
    outcome = run_task(task, ctx())
    assert outcome.state == "FAILED"
    assert "flowable" in outcome.logs[-1].message
    assert "io.kestra.plugin.core.flow.Sequential" in outcome.logs[-1].message


def test_unregistered_task_is_refused() -> None:
    outcome = run_task(UnregisteredTask(id="u", type="com.example.Unregistered"), ctx())
    assert outcome.state == "FAILED"
    assert outcome.logs[-1].level == "ERROR"
    assert "no runner registered" in outcome.logs[-1].message
    assert "com.example.Unregistered" in outcome.logs[-1].message


def test_subclass_uses_base_runner() -> None:
    assert runner_for(PluginSubTask) is plugin_runner
    assert run_task(PluginSubTask(id="s", type="x", mode="ok"), ctx()).outputs == {"answer": 42}


def test_flowable_runner_registration_is_refused() -> None:
    with pytest.raises(ValueError):
        register_runner(Sequential, plugin_runner)


def test_run_task_never_raises_even_with_a_broken_clock() -> None:
    def broken() -> datetime:
        raise RuntimeError("no clock")

    outcome = run_task(make("value"), RunContext(variables={}, clock=broken))
    assert outcome.state == "FAILED"
    assert any(line.level == "ERROR" for line in outcome.logs)


def test_task_log_level_applies_when_context_sets_none() -> None:
    outcome = run_task(make("ok", log_level="WARN"), ctx())
    assert outcome.logs == []  # the INFO line is below WARN
    failed = run_task(make("fail", log_level="ERROR"), ctx())
    assert [line.level for line in failed.logs] == ["ERROR"]


def test_outcome_only_holds_this_runs_logs() -> None:
    context = ctx()
    context.log("INFO", "earlier")
    outcome = run_task(make("ok"), context)
    assert [line.message for line in outcome.logs] == ["running p"]


def test_log_filtering_and_levels() -> None:
    context = ctx(log_level="INFO")
    for level in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "warning"):
        context.log(level, level.lower())
    assert [(line.level, line.message) for line in context.logs] == [
        ("INFO", "info"),
        ("WARN", "warn"),
        ("ERROR", "error"),
        ("WARN", "warning"),
    ]
    unfiltered = ctx()
    unfiltered.log("TRACE", "t")
    assert unfiltered.logs == [LogLine("TRACE", "t", NOW)]
    with pytest.raises(ValueError):
        unfiltered.log("LOUD", "x")


def test_render_uses_variables_and_clock() -> None:
    context = RunContext(
        variables={"task": {"id": "x"}, "items": [1, 2]}, clock=lambda: NOW
    )
    assert context.render("{{ task.id }}") == "x"
    assert context.render({"a": ["{{ task.id }}-1", 3], "b": None}) == {"a": ["x-1", 3], "b": None}
    assert "__now__" in context.render_context()
    assert context.render_context()["__now__"] == NOW
    assert "__now__" not in context.variables


def test_metrics() -> None:
    context = ctx()
    context.metric("rows", 3, tag="a")
    context.metric("took", 0.5, "timer")
    assert context.metrics == [
        {"name": "rows", "type": "counter", "value": 3, "tags": {"tag": "a"}},
        {"name": "took", "type": "timer", "value": 0.5, "tags": {}},
    ]
    with pytest.raises(ValueError):
        context.metric("x", 1, "gauge")
