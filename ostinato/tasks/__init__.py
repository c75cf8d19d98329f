"""Runnable tasks: plain functions a worker calls through `run_task`.

Each core task type has a runner in its own module, registered for its model class from
`ostinato.flow.tasks`; a plugin registers its own with `register_runner`.
"""

from ostinato.tasks.base import (
    FAILED,
    KILLED,
    LEVELS,
    SUCCESS,
    WARNING,
    LogLine,
    RunContext,
    Runner,
    TaskFailed,
    TaskKilled,
    TaskOutcome,
    TaskWarning,
    error_message,
    normalize_level,
    register_runner,
    run_task,
    runner_for,
)

# Importing the runner modules registers them.
from ostinato.tasks import debug, execution, flow, http, log, output  # noqa: E402,F401
from ostinato.tasks import scripts  # noqa: E402,F401
from ostinato.tasks import http_download, log_fetch, working_directory  # noqa: E402,F401
from ostinato.tasks.storage import files as _storage_files, item_tasks as _item_tasks  # noqa: E402,F401
from ostinato.tasks import kv  # noqa: E402,F401
from ostinato.tasks import foreach_item as _foreach_item  # noqa: E402,F401

__all__ = [
    "FAILED",
    "KILLED",
    "LEVELS",
    "SUCCESS",
    "WARNING",
    "LogLine",
    "RunContext",
    "Runner",
    "TaskFailed",
    "TaskKilled",
    "TaskOutcome",
    "TaskWarning",
    "error_message",
    "normalize_level",
    "register_runner",
    "run_task",
    "runner_for",
]
