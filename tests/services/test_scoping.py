"""Files are scoped (issue 10): a flow reads internal-storage files of its own namespace and
of the executions it started or was started by, nothing else — through `read()`, FILE inputs
given as URIs and every task that takes a `kestra://` URI. Real worker and executor."""

from __future__ import annotations

import uuid

import pytest

from ostinato.execution.model import Execution
from ostinato.harness import ServiceRunner

WRITER = """
id: writer
namespace: {ns}
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo "A's private data" > secret.txt
    outputFiles: [secret.txt]
"""

THIEF = """
id: thief
namespace: {ns}
inputs:
  - id: f
    type: FILE
tasks:
  - id: by_input
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(inputs.f) }}}}"
"""

BY_READ = """
id: by_read
namespace: {ns}
tasks:
  - id: steal
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read('{uri}') }}}}"
"""

BY_SCRIPT = """
id: by_script
namespace: {ns}
tasks:
  - id: steal
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      stolen.txt: "{uri}"
    commands:
      - cat stolen.txt
"""

BY_COMMAND = """
id: by_command
namespace: {ns}
tasks:
  - id: steal
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - cat {uri}
"""


def unique(prefix: str) -> str:
    return f"{prefix}.n{uuid.uuid4().hex[:8]}"


def error_text(bus: ServiceRunner, execution: Execution) -> str:
    """The execution's ERROR lines, once one has arrived (logs travel on their own topic)."""
    def errors() -> str:
        return "\n".join(line.message for line in bus.logs_of(execution.id) if line.level == "ERROR")
    return str(bus.wait_for(errors, what=f"an error line of {execution.id}"))


def written_file(bus: ServiceRunner, ns: str) -> str:
    writer = bus.run(bus.deploy(WRITER.format(ns=ns)))
    assert writer.state.current == "SUCCESS", writer.state.current
    uri = writer.task_run_list[0].outputs["outputFiles"]["secret.txt"]  # type: ignore[index]
    assert str(uri).startswith("kestra:///")
    return str(uri)


def test_a_file_input_given_as_another_namespaces_uri_is_refused(bus: ServiceRunner) -> None:
    a, b = unique("scope.a"), unique("scope.b")
    uri = written_file(bus, a)
    thief = bus.run(bus.deploy(THIEF.format(ns=b)), {"f": uri})
    assert thief.state.current == "FAILED"
    assert thief.task_run_list[0].outputs in (None, {})
    errors = error_text(bus, thief)
    assert uri in errors and "own namespace" in errors, errors
    # its own namespace's file reads fine
    same = bus.run(bus.deploy(THIEF.format(ns=a)), {"f": uri})
    assert same.state.current == "SUCCESS"
    assert same.task_run_list[0].outputs == {"value": "A's private data\n"}


@pytest.mark.parametrize("source", [BY_READ, BY_SCRIPT, BY_COMMAND], ids=["read", "inputFiles", "command"])
def test_read_and_script_files_of_another_namespace_are_refused(bus: ServiceRunner, source: str) -> None:
    a, b = unique("scope.a"), unique("scope.b")
    uri = written_file(bus, a)
    run = bus.run(bus.deploy(source.format(ns=b, uri=uri)))
    assert run.state.current == "FAILED"
    errors = error_text(bus, run)
    text = "\n".join(line.message for line in bus.logs_of(run.id))
    assert uri in errors and "A's private data" not in text, text


PARENT = """
id: parent
namespace: {ns}
tasks:
  - id: write
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo "from the parent" > p.txt
    outputFiles: [p.txt]
  - id: child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: {child_ns}
    flowId: child
    wait: true
    transmitFailed: true
    inputs:
      f: "{{{{ outputs.write.outputFiles['p.txt'] }}}}"
    outputs:
      back: "{{{{ outputs.write_back.outputFiles['c.txt'] }}}}"
  - id: read_child
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(outputs.child.outputs.back) }}}}"
"""

CHILD = """
id: child
namespace: {ns}
inputs:
  - id: f
    type: FILE
tasks:
  - id: read_parent
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(inputs.f) }}}}"
  - id: write_back
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo "from the child" > c.txt
    outputFiles: [c.txt]
"""


def test_parent_and_child_read_each_others_files_across_namespaces(bus: ServiceRunner) -> None:
    parent_ns, child_ns = unique("scope.p"), unique("scope.c")
    bus.deploy(CHILD.format(ns=child_ns))
    run = bus.run(bus.deploy(PARENT.format(ns=parent_ns, child_ns=child_ns)))
    assert run.state.current == "SUCCESS", [line.message for line in bus.logs_of(run.id)]
    by_id = {r.task_id: r for r in run.task_run_list}
    assert by_id["read_child"].outputs == {"value": "from the child\n"}
    child = bus.executions[by_id["child"].outputs["executionId"]]  # type: ignore[index]
    assert {r.task_id: r.outputs for r in child.task_run_list}["read_parent"] == {
        "value": "from the parent\n"}
