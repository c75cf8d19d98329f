"""Only the variables a worker task's templates use travel with it (DESIGN.md: "a worker
task carries only the variables its templates reference")."""

from __future__ import annotations

from typing import Any

from ostinato.expressions import referenced_variables
from ostinato.flow.model import strings_in
from ostinato.flow.tasks import Task

#: small, and used by runners themselves (storage paths, log context)
ALWAYS = frozenset({"flow", "execution", "task", "taskrun"})
#: supplied by the worker, never shipped: its own clock and its own secrets. `__seed__`
#: (uuid(), randomInt()) does travel when referenced: the decider derived it from the task
#: run and its attempt, so a duplicate delivery of one attempt renders the same values.
WORKER_SIDE = frozenset({"__now__", "__secrets__"})


def worker_variables(task: Task, variables: dict[str, Any]) -> dict[str, Any]:
    """The subset of `variables` that `task`'s properties can reference."""
    names: set[str] = set()
    for text in strings_in(task.model_dump(by_alias=True, exclude_none=True)):
        if "render" in text:  # render() may reach any variable: ship them all
            names = set(variables)
            break
        names |= referenced_variables(text)
    keep = (names | ALWAYS) - WORKER_SIDE
    return {k: v for k, v in variables.items() if k in keep}
