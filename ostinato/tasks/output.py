"""`io.kestra.plugin.core.output.OutputValues`: renders `values` into the `values` output."""

from __future__ import annotations

from typing import Any

from ostinato.flow.tasks import OutputValues
from ostinato.tasks.base import RunContext, register_runner


def run_output_values(task: OutputValues, ctx: RunContext) -> dict[str, Any]:
    # Non-string values (numbers, booleans, nested maps) are kept as they are.
    return {"values": ctx.render(task.values)}


register_runner(OutputValues, run_output_values)
