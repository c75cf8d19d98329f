"""Webhook trigger semantics (the API serves them): Kestra's corpus case, key, conditions."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ostinato.flow.inputs import type_inputs
from ostinato.flow.parser import parse_flow
from ostinato.inprocess import InProcessRunner
from ostinato.triggers.webhook import webhook_request

from tests.conformance.corpus import CORPUS_DIR, corpus_available

NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)
FLOW = """
id: webhook
namespace: io.kestra.tests
labels:
  flow-label-1: flow-label-1
tasks:
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger | json }}"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: a-secret-key
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ trigger.body.a ?? 1 != 0 }}"
"""


def call(flow, key, body=b"", parameters=None):  # type: ignore[no-untyped-def]
    return webhook_request(flow, key, body=body, headers={"content-type": ["application/json"]},
                           parameters=parameters or {}, execution_id="ex1", now=NOW,
                           typed=lambda f, inputs: type_inputs(f.inputs, inputs))


def test_a_json_body_and_parameters_become_trigger_variables() -> None:
    answer = call(parse_flow(FLOW), "a-secret-key", b'{"a": 1, "b": true}',
                  {"name": ["john"], "age": ["12", "13"]})
    assert answer.status == 200 and answer.request is not None
    variables = answer.request.trigger["variables"]
    assert variables["body"] == {"a": 1, "b": True}
    assert variables["parameters"] == {"name": ["john"], "age": ["12", "13"]}


def test_a_body_that_is_not_a_json_object_or_array_stays_text() -> None:
    assert call(parse_flow(FLOW), "a-secret-key", b"bla").request.trigger["variables"]["body"] == "bla"
    assert call(parse_flow(FLOW), "a-secret-key", b'[{"a": 1}]').request.trigger["variables"]["body"] == [{"a": 1}]


def test_wrong_key_unknown_flow_and_unmet_conditions() -> None:
    flow = parse_flow(FLOW)
    assert call(flow, "wrong").status == 404
    assert call(None, "a-secret-key").status == 404
    assert call(flow, "a-secret-key", b'{"a": 0}').status == 204


@pytest.mark.skipif(not corpus_available(), reason=f"the Kestra corpus is not at {CORPUS_DIR}")
def test_the_corpus_webhook_flow_runs_with_its_trigger_and_labels(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy((CORPUS_DIR / "webhook.yaml").read_text())
    answer = call(flow, "a-secret-key", b'{"a": 1, "b": true}', {"name": ["john"], "age": ["12", "13"]})
    request = answer.request
    assert request is not None
    runner.send(lambda event_id, at: request)
    runner.run_until_idle()
    execution = runner.executions["ex1"]
    assert execution.state.current == "SUCCESS"
    assert execution.labels["flow-label-1"] == "flow-label-1"
    assert execution.labels["flow-label-2"] == "flow-label-2"
    assert '"body":{"a":1,"b":true}' in execution.runs_of("out")[0].outputs["value"]
