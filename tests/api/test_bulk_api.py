"""Kestra's bulk operations by ids over HTTP: kill, restart, resume, replay, delete. A list
with one id that cannot take the operation changes nothing and names that id."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, ended, state_is, wait_execution, wait_until

HOLDS = """id: holds
namespace: api.bulk
tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "after {{ execution.id }}"
"""


def test_bulk_kill_restart_resume_replay_and_delete(api: ApiServer) -> None:
    deploy(api, HOLDS)
    ids = [api.http.post(api.url("/executions/api.bulk/holds")).json()["id"] for _ in range(2)]
    for execution_id in ids:
        wait_execution(api, execution_id, state_is("PAUSED"), what="paused")

    # one finished and one unknown id among them: 400 naming both, nothing killed
    refused = api.http.request("DELETE", api.url("/executions/kill/by-ids"),
                               json=[*ids, "no-such-execution"])
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["message"] == "invalid bulk kill"
    assert body["invalids"] == [{"path": "execution", "message": "execution not found",
                                 "invalidValue": "no-such-execution"}]
    assert api.http.get(api.url(f"/executions/{ids[0]}")).json()["state"]["current"] == "PAUSED"

    killed = api.http.request("DELETE", api.url("/executions/kill/by-ids"), json=ids)
    assert killed.status_code == 200 and killed.json() == {"count": 2}, killed.text
    for execution_id in ids:
        wait_execution(api, execution_id, state_is("KILLED"), what="killed")

    resume_refused = api.http.post(api.url("/executions/resume/by-ids"), json=ids)
    assert resume_refused.status_code == 400
    assert {item["invalidValue"] for item in resume_refused.json()["invalids"]} == set(ids)

    restarted = api.http.post(api.url("/executions/restart/by-ids"), json=ids)
    assert restarted.status_code == 200 and restarted.json() == {"count": 2}, restarted.text
    for execution_id in ids:
        wait_execution(api, execution_id, lambda e: e["state"]["current"] == "PAUSED"
                       and any(h["state"] == "RESTARTED" for h in e["state"]["histories"]),
                       what="restarted, paused again")

    resumed = api.http.post(api.url("/executions/resume/by-ids"), json=ids)
    assert resumed.status_code == 200 and resumed.json() == {"count": 2}, resumed.text
    for execution_id in ids:
        done = wait_execution(api, execution_id, ended, what="resumed to the end")
        assert done["state"]["current"] == "SUCCESS"

    replayed = api.http.post(api.url("/executions/replay/by-ids"), json=[ids[0]])
    assert replayed.status_code == 200 and replayed.json() == {"count": 1}, replayed.text

    def replay_of_first() -> list[dict[str, Any]]:
        found = api.http.get(api.url("/executions/search"),
                             params={"namespace": "api.bulk", "flowId": "holds", "size": 50}).json()
        return [e for e in found["results"] if e.get("originalId") == ids[0] and e["id"] != ids[0]]

    wait_until(replay_of_first, what="the replay of the first execution")

    # delete: a running one (the replay is PAUSED) is refused, finished ones go
    replay_id = replay_of_first()[0]["id"]
    wait_execution(api, replay_id, state_is("PAUSED"), what="the replay paused")
    delete_refused = api.http.request("DELETE", api.url("/executions/by-ids"), json=[*ids, replay_id])
    assert delete_refused.status_code == 400
    assert [item["invalidValue"] for item in delete_refused.json()["invalids"]] == [replay_id]
    deleted = api.http.request("DELETE", api.url("/executions/by-ids"), json=ids)
    assert deleted.status_code == 200 and deleted.json() == {"count": 2}, deleted.text
    assert all(api.http.get(api.url(f"/executions/{i}")).status_code == 404 for i in ids)
    api.http.request("DELETE", api.url("/executions/kill/by-ids"), json=[replay_id])


def test_a_bulk_body_that_is_not_a_list_of_ids_is_refused(api: ApiServer) -> None:
    answer = api.http.post(api.url("/executions/restart/by-ids"), json={"ids": "x"})
    assert answer.status_code == 422
    assert answer.json()["message"] == "Invalid request" and answer.json()["details"]

