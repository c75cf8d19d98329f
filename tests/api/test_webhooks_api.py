"""Webhooks over HTTP: Kestra's answers (the three corpus calls run in the services corpus)."""

from __future__ import annotations

from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, ended, wait_execution

HOOKED = """id: hooked
namespace: api.hooks
inputs:
  - id: who
    type: STRING
    defaults: nobody
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret-key
    inputs:
      who: "{{ trigger.body.who ?? 'nobody' }}"
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ trigger.body.go ?? true }}"
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.who }} via {{ trigger.body.go ?? 'default' }}"
"""


def _hook(api: ApiServer, key: str = "s3cret-key", flow: str = "hooked") -> str:
    return api.url(f"/executions/webhook/api.hooks/{flow}/{key}")


def test_webhook_starts_an_execution_with_the_body(api: ApiServer) -> None:
    deploy(api, HOOKED)
    answer = api.http.post(_hook(api), json={"who": "ann"})
    assert answer.status_code == 200, answer.text
    started = answer.json()
    assert started["trigger"]["type"] == "io.kestra.plugin.core.trigger.Webhook"
    done = wait_execution(api, started["id"], ended, what="the webhook's execution")
    assert done["state"]["current"] == "SUCCESS"
    assert done["inputs"] == {"who": "ann"}
    assert done["taskRunList"][0]["outputs"] == {"value": "ann via default"}
    via_get = api.http.get(_hook(api), params={"x": "1"})
    assert via_get.status_code == 200


def test_wrong_key_or_flow_answers_404(api: ApiServer) -> None:
    deploy(api, HOOKED)
    wrong_key = api.http.post(_hook(api, key="s3cret-kez"), json={})
    assert wrong_key.status_code == 404 and wrong_key.json()["message"] == "Webhook not found"
    no_flow = api.http.post(_hook(api, flow="missing"), json={})
    assert no_flow.status_code == 404 and no_flow.json()["message"] == "Flow not found"


def test_conditions_not_met_answer_204(api: ApiServer) -> None:
    deploy(api, HOOKED)
    answer = api.http.put(_hook(api), json={"go": False})
    assert answer.status_code == 204 and answer.content == b""


def test_a_body_over_the_limit_is_refused_with_413(api: ApiServer) -> None:
    deploy(api, HOOKED)
    answer = api.http.post(_hook(api), content=b"x" * (1024 * 1024 + 1),
                           headers={"Content-Type": "text/plain"})
    assert answer.status_code == 413 and "1048576" in answer.json()["message"]
