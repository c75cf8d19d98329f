"""The most tasks a flow may declare is checked at deploy, with the path of the first task
past it and the setting that raises it (issue 10: a 10,000-task flow deployed, then failed)."""

from __future__ import annotations

import pytest

from ostinato.flow.checks import MAX_TASKS_SETTING
from ostinato.flow.parser import FlowValidationError, parse_flow


def flow_of(count: int) -> str:
    tasks = "".join(f"\n  - id: t{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: x"
                    for i in range(count))
    return f"id: many\nnamespace: tests.limits\ntasks:{tasks}\n"


def test_a_flow_over_the_task_limit_is_refused_at_deploy_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_TASKS_SETTING, "50")
    with pytest.raises(FlowValidationError) as caught:
        parse_flow(flow_of(51))
    text = str(caught.value)
    assert "tasks[50]" in text and "51 tasks, over the limit of 50 tasks per flow" in text
    assert MAX_TASKS_SETTING in text
    assert parse_flow(flow_of(50)).id == "many"


def test_the_default_refuses_ten_thousand_tasks() -> None:
    with pytest.raises(FlowValidationError, match="10000 tasks, over the limit of 1000 tasks"):
        parse_flow(flow_of(10_000))
