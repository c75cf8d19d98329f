"""Executions over HTTP: create (inputs, files, labels, wait, scheduleDate), get, search,
follow, kill, resume, restart, replay, files."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from ostinato.storage.base import uri_path
from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, ended, read_events, state_is, wait_execution

HELLO = """id: hello
namespace: company.team
inputs:
  - id: name
    type: STRING
  - id: count
    type: INT
    defaults: 1
tasks:
  - id: greet
    type: io.kestra.plugin.core.debug.Return
    format: "hello {{ inputs.name }} x{{ inputs.count }}"
outputs:
  - id: greeting
    type: STRING
    value: "{{ outputs.greet.value }}"
"""


def test_kestra_curl_habit_wait_true_returns_the_finished_execution(api: ApiServer) -> None:
    deploy(api, HELLO)
    # curl -X POST -F 'name=x' http://localhost:8080/api/v1/main/executions/company.team/hello?wait=true
    url = f"{api.base_url}/api/v1/main/executions/company.team/hello?wait=true"
    if shutil.which("curl"):
        result = subprocess.run(["curl", "-s", "-X", "POST", "-F", "name=x", url],
                                capture_output=True, text=True, timeout=60)
        execution = json.loads(result.stdout)
    else:  # no curl on this machine: the same multipart request
        execution = httpx.post(url, files={"name": (None, "x")}, timeout=60).json()
    assert execution["state"]["current"] == "SUCCESS"
    assert execution["outputs"] == {"greeting": "hello x x1"}
    assert execution["inputs"] == {"name": "x", "count": 1}
    assert [h["state"] for h in execution["state"]["histories"]][-1] == "SUCCESS"
    assert execution["taskRunList"][0]["taskId"] == "greet"


def test_create_answers_at_once_and_get_follows(api: ApiServer) -> None:
    deploy(api, HELLO)
    created = api.http.post(api.url("/executions/company.team/hello"), data={"name": "y"},
                            params=[("labels", "team:api"), ("labels", "run:1")])
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["state"]["current"] == "CREATED" and body["inputs"] == {"name": "y", "count": 1}
    assert {"key": "team", "value": "api"} in body["labels"]
    done = wait_execution(api, body["id"], ended, what="the execution to end")
    assert done["state"]["current"] == "SUCCESS"
    assert {"key": "run", "value": "1"} in done["labels"]


def test_invalid_input_answers_422_naming_it_and_starts_nothing(api: ApiServer) -> None:
    deploy(api, HELLO)
    before = api.http.get(api.url("/executions/search"), params={"namespace": "company.team",
                                                                 "flowId": "hello"}).json()["total"]
    bad = api.http.post(api.url("/executions/company.team/hello"), data={"name": "z", "count": "many"})
    assert bad.status_code == 422
    assert bad.json()["message"] == "Invalid inputs"
    assert any("`count`" in d for d in bad.json()["details"]), bad.json()
    missing = api.http.post(api.url("/executions/company.team/hello"))
    assert missing.status_code == 422 and any("`name`" in d for d in missing.json()["details"])
    assert _hello_count_after_one_more(api) == before + 1, "nothing but the barrier started"


def test_unknown_flow_and_execution_answer_404_with_a_json_body(api: ApiServer) -> None:
    answer = api.http.post(api.url("/executions/company.team/nope"))
    assert answer.status_code == 404 and answer.json() == {
        "message": "Flow company.team.nope not found", "details": []}
    missing = api.http.get(api.url("/executions/doesNotExist"))
    assert missing.status_code == 404 and "doesNotExist" in missing.json()["message"]


def test_file_input_is_uploaded_and_downloaded(api: ApiServer) -> None:
    deploy(api, """id: files
namespace: api.files
inputs:
  - id: doc
    type: FILE
tasks:
  - id: size
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.doc }}"
""")
    content = b"line one\nline two\n" * 20_000  # 360 KB: sent in several chunks
    execution = api.http.post(api.url("/executions/api.files/files"), params={"wait": "true"},
                              files={"doc": ("notes.txt", content, "text/plain")}).json()
    assert execution["state"]["current"] == "SUCCESS"
    uri = execution["inputs"]["doc"]
    assert uri.startswith("kestra:///api/files/files/executions/") and uri.endswith("/notes.txt")
    download = api.http.get(api.url(f"/executions/{execution['id']}/file"), params={"path": uri})
    assert download.status_code == 200 and download.content == content
    other = api.http.post(api.url("/executions/api.files/files"), params={"wait": "true"},
                          files={"doc": ("b.txt", b"b", "text/plain")}).json()
    refused = api.http.get(api.url(f"/executions/{other['id']}/file"), params={"path": uri})
    assert refused.status_code == 422 and "not a file of execution" in refused.json()["details"][0]
    escape = api.http.get(api.url(f"/executions/{execution['id']}/file"),
                          params={"path": uri.rsplit("/", 1)[0] + "/../../../../x"})
    assert escape.status_code == 422
    metas = api.http.get(api.url(f"/executions/{execution['id']}/file/metas"), params={"path": uri})
    assert metas.json() == {"size": len(content)}
    text_for_file = api.http.post(api.url("/executions/api.files/files"), data={"doc": "plain"})
    assert text_for_file.status_code == 422 and "`doc`" in text_for_file.json()["details"][0]


def test_search_filters_pages_and_sorts(api: ApiServer) -> None:
    flow_id = f"searched-{uuid.uuid4().hex[:6]}"
    deploy(api, f"""id: {flow_id}
namespace: api.search
inputs:
  - id: fail
    type: BOOLEAN
tasks:
  - id: maybe
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ inputs.fail }}}}"
""")
    ids = []
    for i, fail in enumerate([False, True, False]):
        ids.append(api.http.post(api.url(f"/executions/api.search/{flow_id}"),
                                 data={"fail": str(fail).lower()}, params={"wait": "true", "labels": f"n:{i}"}).json()["id"])
    search = api.url("/executions/search")
    everything = api.http.get(search, params={"namespace": "api", "flowId": flow_id}).json()
    assert everything["total"] == 3
    assert [e["id"] for e in everything["results"]] == ids[::-1], "newest first by default"
    failed = api.http.get(search, params={"flowId": flow_id, "state": "FAILED"}).json()
    assert [e["id"] for e in failed["results"]] == [ids[1]]
    labelled = api.http.get(search, params={"flowId": flow_id, "labels": "n:2"}).json()
    assert [e["id"] for e in labelled["results"]] == [ids[2]]
    page = api.http.get(search, params={"flowId": flow_id, "size": 2, "page": 2,
                                        "sort": "state.startDate:asc"}).json()
    assert page["total"] == 3 and [e["id"] for e in page["results"]] == [ids[2]]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert api.http.get(search, params={"flowId": flow_id, "startDate": future}).json()["total"] == 0
    assert api.http.get(search, params={"flowId": flow_id, "endDate": future}).json()["total"] == 3
    of_flow = api.http.get(api.url("/executions"), params={"namespace": "api.search", "flowId": flow_id}).json()
    assert [e["id"] for e in of_flow["results"]] == ids[::-1]
    assert api.http.get(api.url("/executions"), params={"namespace": "api", "flowId": flow_id}).json()["total"] == 0
    flow_of_run = api.http.get(api.url(f"/executions/{ids[0]}/flow")).json()
    assert (flow_of_run["id"], flow_of_run["revision"]) == (flow_id, 1)
    bad = api.http.get(search, params={"startDate": "yesterday"})
    assert bad.status_code == 422 and "startDate" in bad.json()["message"]


def test_follow_streams_progress_then_end(api: ApiServer) -> None:
    deploy(api, """id: slow-steps
namespace: api.follow
tasks:
  - id: one
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.3S
  - id: two
    type: io.kestra.plugin.core.debug.Return
    format: two
""")
    execution_id = api.http.post(api.url("/executions/api.follow/slow-steps")).json()["id"]
    events = read_events(api, f"/executions/{execution_id}/follow")
    ids = [event_id for event_id, _ in events]
    assert ids[-1] == "end" and set(ids[:-1]) == {"progress"} and len(ids) >= 3
    assert events[-1][1]["state"]["current"] == "SUCCESS"
    assert [r["taskId"] for r in events[-1][1]["taskRunList"]] == ["one", "two"]
    seen_states = [data["state"]["current"] for _, data in events]
    assert "RUNNING" in seen_states
    # a finished execution: only `end`
    again = read_events(api, f"/executions/{execution_id}/follow")
    assert [event_id for event_id, _ in again] == ["end"]


def test_kill_resume_restart_replay(api: ApiServer) -> None:
    deploy(api, """id: control
namespace: api.control
inputs:
  - id: word
    type: STRING
    defaults: again
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: reason
        type: STRING
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ taskrun.attemptsCount == 0 }}"
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.word }} {{ outputs.approve.onResume.reason }}"
""")
    execution_id = api.http.post(api.url("/executions/api.control/control")).json()["id"]
    wait_execution(api, execution_id, state_is("PAUSED"), what="the pause")
    assert api.http.post(api.url(f"/executions/{execution_id}/restart")).status_code == 409
    resumed = api.http.post(api.url(f"/executions/{execution_id}/resume"), data={"reason": "ok"})
    assert resumed.status_code == 204, resumed.text
    failed = wait_execution(api, execution_id, ended, what="the failure after resume")
    assert failed["state"]["current"] == "FAILED"
    assert api.http.post(api.url(f"/executions/{execution_id}/resume")).status_code == 409
    restart = api.http.post(api.url(f"/executions/{execution_id}/restart"))
    assert restart.status_code == 200 and restart.json()["id"] == execution_id
    restarted = wait_execution(api, execution_id, state_is("SUCCESS"),
                               what="the restart to succeed")
    echo = [r for r in restarted["taskRunList"] if r["taskId"] == "echo"][0]
    assert echo["outputs"] == {"value": "again ok"}
    replay = api.http.post(api.url(f"/executions/{execution_id}/replay"))
    assert replay.status_code == 200
    replayed_id = replay.json()["id"]
    assert replayed_id != execution_id
    replayed = wait_execution(api, replayed_id, state_is("PAUSED"),
                              what="the replay to pause")
    assert replayed["originalId"] == execution_id and replayed["inputs"] == {"word": "again"}
    killed = api.http.delete(api.url(f"/executions/{replayed_id}/kill"))
    assert killed.status_code == 202
    done = wait_execution(api, replayed_id, ended, what="the kill")
    assert done["state"]["current"] == "KILLED"
    assert api.http.delete(api.url(f"/executions/{replayed_id}/kill")).status_code == 409
    assert api.http.delete(api.url("/executions/nobody/kill")).status_code == 404


def test_schedule_date_delays_the_start(api: ApiServer) -> None:
    deploy(api, HELLO)
    at = datetime.now(timezone.utc) + timedelta(seconds=2)
    created = api.http.post(api.url("/executions/company.team/hello"), data={"name": "later"},
                            params={"scheduleDate": at.isoformat()}).json()
    done = wait_execution(api, created["id"], ended, what="the scheduled execution")
    running = [h["date"] for h in done["state"]["histories"] if h["state"] == "RUNNING"][0]
    started = datetime.fromisoformat(running.replace("Z", "+00:00"))
    assert started >= at - timedelta(milliseconds=50), (started, at)
    assert done["scheduleDate"] is not None


def test_paths_without_tenant_and_another_tenant(api: ApiServer) -> None:
    deploy(api, HELLO)
    untenanted = httpx.post(f"{api.base_url}/api/v1/executions/company.team/hello",
                            data={"name": "plain"}, params={"wait": "true"}, timeout=60).json()
    assert untenanted["state"]["current"] == "SUCCESS"
    assert httpx.get(f"{api.base_url}/api/v1/executions/{untenanted['id']}").json()["id"] == untenanted["id"]
    other = f"{api.base_url}/api/v1/acme"
    assert httpx.get(f"{other}/flows/company.team/hello").status_code == 404, "flows are per tenant"
    httpx.post(f"{other}/flows", content=HELLO.replace("hello {{", "acme {{"),
               headers={"Content-Type": "application/x-yaml"}).raise_for_status()
    acme = httpx.post(f"{other}/executions/company.team/hello", data={"name": "a"},
                      params={"wait": "true"}, timeout=60).json()
    assert acme["state"]["current"] == "SUCCESS" and acme["tenantId"] == "acme"
    assert acme["outputs"] == {"greeting": "acme a x1"}
    in_main = api.http.get(api.url("/executions/search"), params={"q": acme["id"]}).json()
    in_acme = httpx.get(f"{other}/executions/search", params={"q": acme["id"]}).json()
    assert (in_main["total"], in_acme["total"]) == (0, 1)


def test_concurrent_creations_all_run_and_can_be_fetched(api: ApiServer) -> None:
    deploy(api, HELLO)

    async def create_many() -> list[str]:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as http:
            answers = await asyncio.gather(*(
                http.post("/api/v1/main/executions/company.team/hello", data={"name": f"n{i}"})
                for i in range(40)))
        return [a.json()["id"] for a in answers]

    ids = asyncio.run(create_many())
    assert len(set(ids)) == 40
    for execution_id in ids:
        done = wait_execution(api, execution_id, ended, what="each of 40 concurrent executions")
        assert done["state"]["current"] == "SUCCESS"


def test_resume_types_on_resume_inputs_and_refuses_bad_ones(api: ApiServer) -> None:
    deploy(api, """id: typed-resume
namespace: api.control
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: count
        type: INT
      - id: proof
        type: FILE
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.approve.onResume.count + 1 }} {{ outputs.approve.onResume.proof }}"
""")
    execution_id = api.http.post(api.url("/executions/api.control/typed-resume")).json()["id"]
    wait_execution(api, execution_id, state_is("PAUSED"), what="the pause")
    bad = api.http.post(api.url(f"/executions/{execution_id}/resume"), data={"count": "many"},
                        files={"proof": ("proof.txt", b"signed", "text/plain")})
    assert bad.status_code == 422 and "`count`" in bad.json()["details"][0]
    still = api.http.get(api.url(f"/executions/{execution_id}")).json()
    assert still["state"]["current"] == "PAUSED", "a refused resume changes nothing"
    good = api.http.post(api.url(f"/executions/{execution_id}/resume"), data={"count": "41"},
                         files={"proof": ("proof.txt", b"signed", "text/plain")})
    assert good.status_code == 204, good.text
    done = wait_execution(api, execution_id, ended, what="the resumed execution")
    value = [r for r in done["taskRunList"] if r["taskId"] == "after"][0]["outputs"]["value"]
    count, uri = value.split(" ")
    assert count == "42" and uri.endswith(f"/executions/{execution_id}/resume/proof/proof.txt")
    assert api.http.get(api.url(f"/executions/{execution_id}/file"), params={"path": uri}).content == b"signed"


def test_delete_a_finished_execution(api: ApiServer) -> None:
    deploy(api, HELLO)
    done = api.http.post(api.url("/executions/company.team/hello"), data={"name": "gone"},
                         params={"wait": "true"}).json()
    assert api.http.get(api.url(f"/logs/{done['id']}")).json(), "it has logs"
    assert api.http.delete(api.url(f"/executions/{done['id']}")).status_code == 204
    assert api.http.get(api.url(f"/executions/{done['id']}")).status_code == 404
    assert api.http.get(api.url(f"/logs/{done['id']}")).json() == []
    assert api.http.get(api.url("/executions/search"), params={"q": done["id"]}).json()["total"] == 0
    assert api.http.delete(api.url(f"/executions/{done['id']}")).status_code == 404
    deploy(api, """id: waits-forever
namespace: api.control
tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
""")
    paused = api.http.post(api.url("/executions/api.control/waits-forever")).json()["id"]
    wait_execution(api, paused, state_is("PAUSED"), what="the pause")
    refused = api.http.delete(api.url(f"/executions/{paused}"))
    assert refused.status_code == 409 and "PAUSED" in refused.json()["message"]
    api.http.delete(api.url(f"/executions/{paused}/kill"))


def test_delete_removes_the_execution_files_unless_asked_to_keep_them(api: ApiServer) -> None:
    deploy(api, """id: leaves-files
namespace: api.delete
inputs:
  - id: doc
    type: FILE
tasks:
  - id: uri
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.doc }}"
""")

    def run_with_a_file() -> tuple[str, Path]:
        execution = api.http.post(api.url("/executions/api.delete/leaves-files"), params={"wait": "true"},
                                  files={"doc": ("a.txt", b"kept?", "text/plain")}).json()
        assert execution["state"]["current"] == "SUCCESS"
        file = api.stack.storage_dir / uri_path(execution["inputs"]["doc"])
        assert file.read_bytes() == b"kept?"
        return execution["id"], file

    deleted, deleted_file = run_with_a_file()
    kept, kept_file = run_with_a_file()
    assert api.http.delete(api.url(f"/executions/{deleted}")).status_code == 204
    assert not deleted_file.exists() and not deleted_file.parent.parent.parent.exists()
    answer = api.http.delete(api.url(f"/executions/{kept}"), params={"deleteStorage": "false"})
    assert answer.status_code == 204
    assert api.http.get(api.url(f"/executions/{kept}")).status_code == 404
    assert kept_file.read_bytes() == b"kept?"


def test_validate_inputs_types_each_and_starts_nothing(api: ApiServer) -> None:
    deploy(api, HELLO)
    before = api.http.get(api.url("/executions/search"), params={"namespace": "company.team",
                                                                 "flowId": "hello"}).json()["total"]
    answer = api.http.post(api.url("/executions/company.team/hello/validate"), data={"count": "many"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["id"], body["namespace"]) == ("hello", "company.team")
    by_id = {item["input"]["id"]: item for item in body["inputs"]}
    assert "missing required input" in by_id["name"]["errors"][0]["message"]
    assert "`count`" in by_id["count"]["errors"][0]["message"]
    good = api.http.post(api.url("/executions/company.team/hello/validate"),
                         data={"name": "x", "count": "3"}).json()
    assert [(i["input"]["id"], i["value"], i["errors"]) for i in good["inputs"]] == [
        ("name", "x", []), ("count", 3, [])]
    assert _hello_count_after_one_more(api) == before + 1, "nothing but the barrier started"


def _hello_count_after_one_more(api: ApiServer) -> int:
    """Start one valid execution of `hello`, wait for its end, then count the executions of
    `hello`: a barrier instead of a sleep (an execution wrongly started by an earlier
    request was requested before this one, so it shows by the time this one has ended)."""
    api.http.post(api.url("/executions/company.team/hello"), data={"name": "barrier"},
                  params={"wait": "true"}).raise_for_status()
    found: int = api.http.get(api.url("/executions/search"), params={
        "namespace": "company.team", "flowId": "hello"}).json()["total"]
    return found
