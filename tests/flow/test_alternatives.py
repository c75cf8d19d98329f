"""An unsupported task type's validation error says what to use instead, where there is an
alternative; a misspelt core type gets no such advice."""

from __future__ import annotations

import pytest

from ostinato.flow.alternatives import suggestion
from ostinato.flow.parser import FlowValidationError, parse_flow
from ostinato.flow.registry import UnknownTaskType, resolve_task_type

FLOW = """\
id: alternatives
namespace: company.team
tasks:
  - id: t
    type: {type}
"""


def _validation_message(type_name: str) -> str:
    with pytest.raises(FlowValidationError) as caught:
        parse_flow(FLOW.format(type=type_name))
    return str(caught.value)


@pytest.mark.parametrize(("type_name", "advice"), [
    ("io.kestra.plugin.core.trigger.Webhook", "it is a trigger: declare it under `triggers:`"),
    ("io.kestra.plugin.docker.Run", "taskRunner: {type: io.kestra.plugin.scripts.runner.docker.Docker"),
    ("io.kestra.plugin.scripts.node.Script", "`io.kestra.plugin.scripts.shell.Script` running `node`"),
    ("io.kestra.plugin.gcp.bigquery.Query", "write a Python plugin for it (README, 'Write a plugin')"),
    ("io.kestra.plugin.aws.s3.Upload", "write a Python plugin"),
    ("io.kestra.plugin.jdbc.postgresql.Query", "write a Python plugin"),
    ("io.kestra.plugin.notifications.slack.SlackIncomingWebhook", "write a Python plugin"),
    ("io.kestra.core.tasks.scripts.Bash", "use `io.kestra.plugin.scripts.shell.Commands`"),
])
def test_validation_error_names_the_alternative(type_name: str, advice: str) -> None:
    message = _validation_message(type_name)
    assert f"tasks[0].type, line 5: unknown task type `{type_name}`: " in message
    assert advice in message


def test_a_misspelt_core_type_gets_no_plugin_advice() -> None:
    message = _validation_message("io.kestra.plugin.core.log.Logg")
    assert "unknown task type `io.kestra.plugin.core.log.Logg`" in message
    assert message.rstrip().endswith("unknown task type `io.kestra.plugin.core.log.Logg`")
    assert suggestion("io.kestra.plugin.core.log.Logg") is None
    assert suggestion("com.example.Unknown") is None


def test_the_registry_error_carries_the_advice_everywhere_it_is_raised() -> None:
    with pytest.raises(UnknownTaskType, match="it is a trigger"):
        resolve_task_type("io.kestra.plugin.core.trigger.Schedule")


def test_template_is_refused_naming_subflow() -> None:
    message = _validation_message("io.kestra.plugin.core.flow.Template")
    assert "Subflow" in message
