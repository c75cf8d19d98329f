"""An example ostinato plugin: `com.example.hello.Greet` greets someone.

    - id: greet
      type: com.example.hello.Greet
      name: "{{ inputs.who }}"
      greeting: Bonjour        # optional, "Hello" by default
      times: 2                 # optional: how many log lines

Outputs: `message` (the greeting) and `length`; one INFO log line per greeting; metrics
`greetings` (counter) and `duration` (timer).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from ostinato.flow.tasks import Task
from ostinato.plugins import task_plugin
from ostinato.tasks.base import RunContext, TaskFailed


class Greet(Task):
    """The task's properties: a pydantic model (camelCase in YAML, unknown ones refused)."""

    name: str
    greeting: str = "Hello"
    times: int = Field(default=1, ge=1, le=100)


def run_greet(task: Greet, ctx: RunContext) -> dict[str, Any]:
    """Render the properties, log the greeting, record metrics, return the outputs."""
    started = time.perf_counter()
    name = ctx.render_str(task.name) or ""
    if not name.strip():
        raise TaskFailed("`name` rendered to an empty string")  # fails the task with this message
    message = f"{ctx.render_str(task.greeting)}, {name}!"
    for _ in range(task.times):
        ctx.log("INFO", message)
    ctx.metric("greetings", task.times, "counter")
    ctx.metric("duration", time.perf_counter() - started, "timer")
    return {"message": message, "length": len(message)}


#: what the entry point names: the model, its runner, its type name(s)
plugin = task_plugin(Greet, run_greet, "com.example.hello.Greet")
