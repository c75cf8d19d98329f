"""A worker task carries only the variables its templates reference."""

from __future__ import annotations

from ostinato.flow.tasks import Task
from ostinato.services.executor.variables import worker_variables

VARIABLES = {
    "flow": {"id": "f"}, "execution": {"id": "e"}, "task": {"id": "t"}, "taskrun": {"id": "r"},
    "outputs": {"big": {"value": "x" * 10_000}}, "inputs": {"name": "n"}, "vars": {"a": 1},
    "labels": {}, "envs": {}, "globals": {}, "__now__": "now", "__secrets__": {"k": "v"},
    "__error_logs__": [],
}


def test_only_referenced_top_level_variables_travel() -> None:
    task = Task.model_validate({"id": "t", "type": "io.kestra.plugin.core.debug.Return",
                                "format": "{{ inputs.name }} {{ vars.a }}"})
    shipped = worker_variables(task, VARIABLES)
    assert set(shipped) == {"flow", "execution", "task", "taskrun", "inputs", "vars"}


def test_render_ships_everything_but_the_worker_side_keys() -> None:
    task = Task.model_validate({"id": "t", "type": "io.kestra.plugin.core.debug.Return",
                                "format": "{{ render(vars.a) }}"})
    shipped = worker_variables(task, VARIABLES)
    assert "outputs" in shipped and "__now__" not in shipped and "__secrets__" not in shipped
