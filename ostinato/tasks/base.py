"""What a worker needs to run one task: the run context, the outcome, the runner registry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ostinato.execution.states import StateType

if TYPE_CHECKING:
    from ostinato.flow.tasks import Task
    from ostinato.kv.access import KvClient
    from ostinato.storage import Storage
    from ostinato.tasks.scripts.process import ProcessUser

#: Kestra's log levels, least severe first
LEVELS: tuple[str, ...] = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
_LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_LEVEL_ALIASES = {"WARNING": "WARN", "FATAL": "ERROR", "CRITICAL": "ERROR"}

# the outcomes of a task (StateType members: they compare and serialise as their names)
SUCCESS = StateType.SUCCESS
WARNING = StateType.WARNING
FAILED = StateType.FAILED
KILLED = StateType.KILLED


def normalize_level(level: str) -> str:
    """`level` as one of LEVELS (case-insensitive; WARNING -> WARN); ValueError otherwise."""
    name = str(level).strip().upper()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in _LEVEL_RANK:
        raise ValueError(f"unknown log level `{level}`; expected one of {', '.join(LEVELS)}")
    return name


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LogLine:
    level: str
    message: str
    timestamp: datetime


@dataclass
class TaskOutcome:
    """The result of one task run, as the worker reports it."""

    state: str  # SUCCESS | WARNING | FAILED | KILLED
    outputs: dict[str, Any] = field(default_factory=dict)
    logs: list[LogLine] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)


class TaskFailed(Exception):
    """Raised by a runner to fail its task with `message` (logged at ERROR as is)."""

    def __init__(self, message: str, outputs: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.outputs: dict[str, Any] = dict(outputs or {})


class TaskWarning(Exception):
    """Raised by a runner to end its task in WARNING with `message` (logged at WARN)."""

    def __init__(self, message: str, outputs: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.outputs: dict[str, Any] = dict(outputs or {})


class TaskKilled(Exception):
    """Raised (e.g. by an injected `sleep`) when the task is killed; the outcome is KILLED."""

    def __init__(self, message: str = "Task killed") -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RunContext:
    """Everything a runner may use. Time comes only from `clock`; waiting only via `sleep`."""

    variables: dict[str, Any]
    storage: Storage | None = None
    clock: Callable[[], datetime] = _utc_now
    sleep: Callable[[float], None] = time.sleep
    #: the task's `logLevel`: lines less severe than it are dropped
    log_level: str | None = None
    logs: list[LogLine] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: set when the task must stop (timeout, kill); long runners check it
    cancel_event: threading.Event | None = None
    #: the account script processes run as (None: the worker's own)
    process_user: ProcessUser | None = None
    #: the directory a WorkingDirectory's children share (None: each task makes its own)
    working_dir: Path | None = None
    #: what the worker offers some tasks, by name (`logs`: ostinato/tasks/log_fetch.py)
    services: dict[str, Any] = field(default_factory=dict)
    #: the KV store as this execution sees it (None: the runner has none; kv tasks and the
    #: `kv()` function then fail saying so)
    kv: KvClient | None = None
    #: called after each line is kept (the worker's live log shipper wakes on it)
    on_log: Callable[[], None] | None = None

    def render_context(self) -> dict[str, Any]:
        """The variables with `__now__` set to the clock's current time (and `__kv__`, the
        `kv()` function's store, when there is one)."""
        context = {**self.variables, "__now__": self.clock()}
        if self.kv is not None:
            context["__kv__"] = self.kv.function
        return context

    def render(self, value: Any) -> Any:
        """Render every template in `value` (strings, recursively through dicts and lists)."""
        from ostinato.expressions import render_value

        return render_value(value, self.render_context())

    def render_str(self, value: Any) -> str | None:
        """Render `value` to a string, as a Kestra `Property<String>` is (None stays None)."""
        rendered = self.render(value)
        return None if rendered is None else to_kestra_string(rendered)

    def enabled(self, level: str) -> bool:
        """Whether a line at `level` passes the `log_level` filter."""
        if self.log_level is None:
            return True
        return _LEVEL_RANK[normalize_level(level)] >= _LEVEL_RANK[normalize_level(self.log_level)]

    def log(self, level: str, message: str) -> None:
        """Append a log line unless `log_level` filters it out."""
        name = normalize_level(level)
        if self.enabled(name):
            self.logs.append(LogLine(level=name, message=str(message), timestamp=self.clock()))
            if self.on_log is not None:
                self.on_log()

    def metric(
        self, name: str, value: float, type: str = "counter", **tags: Any
    ) -> None:
        """Record a metric as Kestra does: `counter` (a number) or `timer` (seconds)."""
        if type not in ("counter", "timer"):
            raise ValueError(f"unknown metric type `{type}`")
        self.metrics.append(
            {"name": name, "type": type, "value": value, "tags": {k: str(v) for k, v in tags.items()}}
        )


def to_kestra_string(value: Any) -> str:
    """A rendered value as Kestra's String coercion writes it (`true`, `1`, JSON for maps)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


class Runner(Protocol):
    """Runs one task: returns its outputs, raises to fail it."""

    def __call__(self, task: Any, ctx: RunContext, /) -> dict[str, Any]: ...


_RUNNERS: dict[type, Runner] = {}


def register_runner(task_cls: type[Task], runner: Runner) -> None:
    """Make `runner` run tasks of `task_cls` (and of its subclasses without their own)."""
    if getattr(task_cls, "flowable", False):
        raise ValueError(f"{task_cls.__name__} is flowable: the executor resolves it")
    _RUNNERS[task_cls] = runner


def runner_for(task_cls: type) -> Runner | None:
    """The runner registered for `task_cls` or its nearest registered base class."""
    for cls in task_cls.__mro__:
        runner = _RUNNERS.get(cls)
        if runner is not None:
            return runner
    return None


def _expression_error() -> type[BaseException] | None:
    try:
        from ostinato.expressions import ExpressionError
    except ImportError:  # pragma: no cover - only while the package is being written
        return None
    return ExpressionError


def error_message(exc: BaseException) -> str:
    """The user-facing message for an exception raised by a runner."""
    if isinstance(exc, (TaskFailed, TaskWarning, TaskKilled)):
        return exc.message
    expression_error = _expression_error()
    if expression_error is not None and isinstance(exc, expression_error):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_task(task: Task, ctx: RunContext) -> TaskOutcome:
    """Run `task` with the runner registered for its class; never raises.

    The task's own `logLevel` applies when the context sets none.
    """
    start = len(ctx.logs), len(ctx.metrics)
    if ctx.log_level is None and getattr(task, "log_level", None):
        ctx.log_level = task.log_level

    def outcome(state: str, outputs: Mapping[str, Any] | None = None) -> TaskOutcome:
        return TaskOutcome(
            state=state,
            outputs=dict(outputs or {}),
            logs=list(ctx.logs[start[0]:]),
            metrics=list(ctx.metrics[start[1]:]),
        )

    def log_always(level: str, message: str) -> None:
        # The failure message of a task is reported whatever its logLevel.
        ctx.logs.append(LogLine(level=level, message=message, timestamp=_safe_clock(ctx)))

    task_type = getattr(task, "type", None) or getattr(type(task), "type_name", "") or "?"
    if getattr(type(task), "flowable", False):
        log_always(
            "ERROR",
            f"task `{getattr(task, 'id', '?')}` of type `{task_type}` is a flowable task: "
            "the executor resolves it, a worker cannot run it",
        )
        return outcome(FAILED)
    runner = runner_for(type(task))
    if runner is None:
        log_always(
            "ERROR",
            f"no runner registered for task type `{task_type}` "
            f"(class {type(task).__name__}); a plugin registers one with register_runner",
        )
        return outcome(FAILED)

    try:
        outputs = runner(task, ctx)
    except TaskKilled as exc:
        log_always("WARN", exc.message)
        return outcome(KILLED)
    except TaskWarning as exc:
        log_always("WARN", exc.message)
        return outcome(WARNING, exc.outputs)
    except TaskFailed as exc:
        log_always("ERROR", exc.message)
        return outcome(FAILED, exc.outputs)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a FAILED outcome
        log_always("ERROR", error_message(exc))
        return outcome(FAILED)
    if outputs is None:
        outputs = {}
    if not isinstance(outputs, Mapping):
        log_always(
            "ERROR",
            f"the runner for `{task_type}` returned {type(outputs).__name__}, not a mapping of outputs",
        )
        return outcome(FAILED)
    return outcome(SUCCESS, outputs)


def _safe_clock(ctx: RunContext) -> datetime:
    try:
        return ctx.clock()
    except Exception:  # noqa: BLE001 - a broken clock must not make run_task raise
        return _utc_now()
