"""WorkingDirectory: its `tasks` run in order like a Sequential's, each a task run of its
own, sent to a worker with the group they share (`working_group`): the worker runs them in
one directory (ostinato/tasks/working_directory.py). Its `errors` and `finally` run as
usual, outside the directory (as in Kestra, where the executor resolves them).

When every phase is done, the WorkingDirectory is not ended here: the decider sends it as
one attempt of its own to a worker (`ends_on_worker`), which uploads its `outputFiles`
(its outputs) and removes the directory; it then ends in the worse of its children's
outcome and that attempt's state (ostinato/decider/results.py).
"""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable
from ostinato.execution.model import TaskRun
from ostinato.execution.progress import Phase
from ostinato.flow.tasks import Task
from ostinato.flow.tasks_storage import WorkingDirectory, WorkingGroup


class WorkingDirectoryFlowable(Flowable):
    #: the flowable's end is one worker attempt of its own (phases.py)
    ends_on_worker = True


def working_group(parent: TaskRun | None, parent_task: Task | None, run: TaskRun) -> str | None:
    """The group (JSON text) a task run is sent with: set for a child in the `tasks` of a
    WorkingDirectory (only runnable tasks may be there), None for any other run."""
    if parent is None or not isinstance(parent_task, WorkingDirectory) or run.block != Phase.TASKS:
        return None
    return WorkingGroup(parent.id, parent_task.id, parent_task.input_files,
                        parent_task.namespace_files).to_json()
