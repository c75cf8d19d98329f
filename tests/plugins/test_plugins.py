"""Task types from the `ostinato.tasks` entry point group: the example plugin (installed in
the venv by ./dev) validates and runs; a broken plugin is named in the errors of the flows
that use its types and stops nothing else. Each check needing a fresh process runs one
(plugins load once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ostinato.flow.parser import parse_flow, validate_flow
from ostinato.plugins import plugin_types
from ostinato.tasks import RunContext, run_task
from tests.plugins.conftest import broken_plugin, make_plugin

GREET = """id: greet
namespace: company.team
tasks:
  - id: hi
    type: com.example.hello.Greet
    name: "{{ inputs.who }}"
    times: 2
inputs:
  - id: who
    type: STRING
    defaults: World
"""


def in_subprocess(code: str, pythonpath: Path) -> dict[str, Any]:
    """Run `code` (which prints one JSON document) in a new interpreter with `pythonpath`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), os.getcwd()])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_example_plugin_is_found_through_its_entry_point() -> None:
    try:
        flow = parse_flow(GREET)
    except ValueError as exc:  # pragma: no cover - only when ./dev setup did not run
        pytest.fail(f"the example plugin is not installed (./dev installs it): {exc}")
    assert plugin_types()["com.example.hello.Greet"] == "hello"
    outcome = run_task(flow.tasks[0], RunContext(variables={"inputs": {"who": "Ada"}}))
    assert outcome.state == "SUCCESS"
    assert outcome.outputs == {"message": "Hello, Ada!", "length": 11}
    assert [(l.level, l.message) for l in outcome.logs] == [("INFO", "Hello, Ada!")] * 2
    assert [(m["name"], m["type"]) for m in outcome.metrics] == [("greetings", "counter"),
                                                                  ("duration", "timer")]


def test_the_plugin_model_validates_its_properties() -> None:
    errors = validate_flow(GREET.replace("times: 2", "times: 0\n    colour: red"))
    text = "\n".join(str(e) for e in errors)
    assert "tasks[0].times" in text and "at least 1" in text
    assert "unknown property `colour` for type `com.example.hello.Greet`" in text


def test_a_broken_plugin_is_named_in_the_error_and_stops_nothing_else(tmp_path: Path) -> None:
    code = f"""
import json
from ostinato.flow.parser import validate_flow
broken = validate_flow('''id: f
namespace: n
tasks:
  - id: t
    type: com.example.broken.Task
''')
greet = validate_flow({GREET!r})
core = validate_flow('''id: f
namespace: n
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: hi
''')
print(json.dumps({{"broken": [str(e) for e in broken], "greet": [str(e) for e in greet],
                  "core": [str(e) for e in core]}}))
"""
    answer = in_subprocess(code, broken_plugin(tmp_path / "site"))
    [error] = answer["broken"]
    assert "unknown task type `com.example.broken.Task`" in error
    assert "plugin `broken_plugin` (broken_plugin:plugin) failed to load" in error
    assert "RuntimeError: the broken plugin is broken" in error
    assert answer["greet"] == [] and answer["core"] == []


def test_an_entry_point_naming_something_else_than_a_task_plugin_fails_clearly(tmp_path: Path) -> None:
    site = make_plugin(tmp_path / "site", "odd_plugin", "plugin = 42\n", "odd_plugin:plugin")
    code = """
import json
from ostinato.plugins import plugin_failures
print(json.dumps({"failures": [str(f) for f in plugin_failures()]}))
"""
    [failure] = in_subprocess(code, site)["failures"]
    assert "plugin `odd_plugin`" in failure and "must name a TaskPlugin" in failure
