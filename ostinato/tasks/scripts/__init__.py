"""Kestra's script tasks (shell and Python `Commands` and `Script`) on local processes.

Importing this package registers the task types (so flows using them validate) and their
runner. Only Kestra's Process task runner is implemented: see `runner` for what a run does.
"""

from ostinato.flow.script_tasks import (
    PythonCommands,
    PythonScript,
    ScriptTask,
    ShellCommands,
    ShellScript,
)
from ostinato.tasks.scripts.runner import run_script_task

__all__ = [
    "PythonCommands",
    "PythonScript",
    "ScriptTask",
    "ShellCommands",
    "ShellScript",
    "run_script_task",
]
