"""Flows over HTTP: create, update, revisions, get as JSON and YAML, delete, list, search,
validate, bulk update of a namespace."""

from __future__ import annotations

import io
import uuid
import zipfile

import httpx

from tests.api.conftest import ApiServer

YAML = {"Content-Type": "application/x-yaml"}


def _flow(flow_id: str, namespace: str = "api.flows", message: str = "hi") -> str:
    return f"""id: {flow_id}
namespace: {namespace}
labels:
  team: api
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{message}"
"""


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_then_unchanged_then_update_makes_revisions(api: ApiServer) -> None:
    flow_id = _unique("revs")
    first = api.http.post(api.url("/flows"), content=_flow(flow_id), headers=YAML)
    assert first.status_code == 200, first.text
    assert (first.json()["id"], first.json()["revision"]) == (flow_id, 1)
    assert first.json()["source"] == _flow(flow_id)
    assert first.json()["tasks"][0]["id"] == "say"
    again = api.http.post(api.url("/flows"), content=_flow(flow_id), headers=YAML)
    assert again.json()["revision"] == 1, "an unchanged flow creates no revision"
    updated = api.http.put(api.url(f"/flows/api.flows/{flow_id}"), content=_flow(flow_id, message="hey"),
                           headers=YAML)
    assert updated.status_code == 200 and updated.json()["revision"] == 2
    revisions = api.http.get(api.url(f"/flows/api.flows/{flow_id}/revisions")).json()
    assert [r["revision"] for r in revisions] == [1, 2]
    assert [r["tasks"][0]["format"] for r in revisions] == ["hi", "hey"]
    old = api.http.get(api.url(f"/flows/api.flows/{flow_id}"), params={"revision": 1}).json()
    assert old["tasks"][0]["format"] == "hi" and "source" not in old


def test_get_as_json_with_source_and_as_yaml(api: ApiServer) -> None:
    flow_id = _unique("get")
    api.http.post(api.url("/flows"), content=_flow(flow_id), headers=YAML).raise_for_status()
    as_json = api.http.get(api.url(f"/flows/api.flows/{flow_id}"), params={"source": "true"})
    assert as_json.json()["source"] == _flow(flow_id) and as_json.json()["labels"] == {"team": "api"}
    as_yaml = api.http.get(api.url(f"/flows/api.flows/{flow_id}"), headers={"Accept": "application/x-yaml"})
    assert as_yaml.headers["content-type"].startswith("application/x-yaml")
    assert as_yaml.text == _flow(flow_id)
    # the same flow on the paths without a tenant
    untenanted = api.http.get(f"{api.base_url}/api/v1/flows/api.flows/{flow_id}")
    assert untenanted.status_code == 200 and untenanted.json()["revision"] == 1


def test_delete_is_a_revision_marked_deleted(api: ApiServer) -> None:
    flow_id = _unique("del")
    api.http.post(api.url("/flows"), content=_flow(flow_id), headers=YAML).raise_for_status()
    assert api.http.delete(api.url(f"/flows/api.flows/{flow_id}")).status_code == 204
    gone = api.http.get(api.url(f"/flows/api.flows/{flow_id}"))
    assert gone.status_code == 404 and "deleted" in gone.json()["message"]
    kept = api.http.get(api.url(f"/flows/api.flows/{flow_id}"), params={"allowDeleted": "true"}).json()
    assert (kept["revision"], kept["deleted"]) == (2, True)
    assert [r["deleted"] for r in api.http.get(api.url(f"/flows/api.flows/{flow_id}/revisions")).json()] == [False, True]
    assert api.http.delete(api.url(f"/flows/api.flows/{flow_id}")).status_code == 404
    # saving it again brings it back as revision 3
    back = api.http.post(api.url("/flows"), content=_flow(flow_id), headers=YAML).json()
    assert (back["revision"], back["deleted"]) == (3, False)


def test_invalid_flow_answers_422_with_every_error_and_line(api: ApiServer) -> None:
    source = """id: broken
namespace: api.flows
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Nope
  - id: b
    type: io.kestra.plugin.core.log.Log
"""
    answer = api.http.post(api.url("/flows"), content=source, headers=YAML)
    assert answer.status_code == 422
    body = answer.json()
    assert body["message"] == "Invalid flow"
    assert any("tasks[0]" in d and "line 5" in d for d in body["details"]), body
    assert any("tasks[1]" in d and "message" in d for d in body["details"]), body
    assert api.http.get(api.url("/flows/api.flows/broken")).status_code == 404, "nothing saved"


def test_put_of_unknown_flow_or_other_id_is_refused(api: ApiServer) -> None:
    assert api.http.put(api.url("/flows/api.flows/never"), content=_flow("never"), headers=YAML).status_code == 404
    flow_id = _unique("put")
    api.http.post(api.url("/flows"), content=_flow(flow_id), headers=YAML).raise_for_status()
    other = api.http.put(api.url(f"/flows/api.flows/{flow_id}"), content=_flow("other"), headers=YAML)
    assert other.status_code == 422 and "cannot change" in other.json()["details"][0]


def test_validate_lists_errors_per_document(api: ApiServer) -> None:
    body = _flow("fine") + "---\n" + "id: bad\nnamespace: api.flows\ntasks: []\nunknown: 1\n"
    answer = api.http.post(api.url("/flows/validate"), content=body, headers=YAML)
    assert answer.status_code == 200
    first, second = answer.json()
    assert first["index"] == 0 and "constraints" not in first and first["flow"] == "fine"
    assert second["index"] == 1 and second["flow"] == "bad"
    assert "unknown" in second["constraints"] and "line 4" in second["constraints"]


def test_list_and_search(api: ApiServer) -> None:
    namespace = f"api.search.{uuid.uuid4().hex[:6]}"
    for flow_id in ("alpha", "beta", "gamma"):
        api.http.post(api.url("/flows"), content=_flow(flow_id, namespace), headers=YAML).raise_for_status()
    listed = api.http.get(api.url(f"/flows/{namespace}")).json()
    assert [f["id"] for f in listed] == ["alpha", "beta", "gamma"]
    found = api.http.get(api.url("/flows/search"), params={"namespace": namespace, "q": "beta"}).json()
    assert found["total"] == 1 and found["results"][0]["id"] == "beta"
    page = api.http.get(api.url("/flows/search"), params={"namespace": namespace, "size": 2, "page": 2,
                                                          "sort": "id:desc"}).json()
    assert page["total"] == 3 and [f["id"] for f in page["results"]] == ["alpha"]
    by_label = api.http.get(api.url("/flows/search"), params={"namespace": namespace, "labels": "team:api"}).json()
    assert by_label["total"] == 3
    namespaces = api.http.get(api.url("/flows/distinct-namespaces"), params={"q": namespace}).json()
    assert namespaces == [namespace]
    export = api.http.get(api.url("/flows/export/by-query"), params={"namespace": namespace})
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        assert sorted(archive.namelist()) == [f"{namespace}.{i}.yml" for i in ("alpha", "beta", "gamma")]
        assert archive.read(f"{namespace}.beta.yml").decode() == _flow("beta", namespace)


def test_bulk_update_of_a_namespace_deletes_the_others(api: ApiServer) -> None:
    namespace = f"api.bulk.{uuid.uuid4().hex[:6]}"
    for flow_id in ("keep", "drop"):
        api.http.post(api.url("/flows"), content=_flow(flow_id, namespace), headers=YAML).raise_for_status()
    body = _flow("keep", namespace, message="changed") + "---\n" + _flow("new", namespace)
    answer = api.http.post(api.url(f"/flows/{namespace}"), content=body, headers=YAML)
    assert answer.status_code == 200, answer.text
    assert sorted((f["id"], f["revision"], f["deleted"]) for f in answer.json()) == [
        ("drop", 2, True), ("keep", 2, False), ("new", 1, False)]
    assert [f["id"] for f in api.http.get(api.url(f"/flows/{namespace}")).json()] == ["keep", "new"]
    wrong = api.http.post(api.url(f"/flows/{namespace}"), content=_flow("x", "elsewhere"), headers=YAML)
    assert wrong.status_code == 422 and "elsewhere" in wrong.json()["details"][0]


def test_execution_keeps_the_revision_it_started_with(api: ApiServer) -> None:
    flow_id = _unique("pinned")
    api.http.post(api.url("/flows"), content=_flow(flow_id, message="one"), headers=YAML).raise_for_status()
    first = api.http.post(api.url(f"/executions/api.flows/{flow_id}"), params={"wait": "true"}).json()
    api.http.put(api.url(f"/flows/api.flows/{flow_id}"), content=_flow(flow_id, message="two"),
                 headers=YAML).raise_for_status()
    second = api.http.post(api.url(f"/executions/api.flows/{flow_id}"), params={"wait": "true"}).json()
    assert (first["flowRevision"], second["flowRevision"]) == (1, 2)
    assert first["taskRunList"][0]["outputs"]["value"] == "one"
    assert second["taskRunList"][0]["outputs"]["value"] == "two"
    again = api.http.get(api.url(f"/executions/{first['id']}")).json()
    assert again["flowRevision"] == 1


def test_bulk_update_of_a_tenant(api: ApiServer) -> None:
    tenant = f"{api.base_url}/api/v1/bulk{uuid.uuid4().hex[:6]}"  # its own tenant: delete=true clears it
    in_main = api.http.get(api.url("/flows/search"), params={"size": 1}).json()["total"]
    for flow_id, namespace in (("old", "api.one"), ("kept", "api.two")):
        httpx.post(f"{tenant}/flows", content=_flow(flow_id, namespace), headers=YAML).raise_for_status()
    body = _flow("kept", "api.two") + "---\n" + _flow("added", "api.three")
    kept_only = httpx.post(f"{tenant}/flows/bulk", params={"delete": "false"}, content=body, headers=YAML)
    assert sorted((f["id"], f["revision"]) for f in kept_only.json()) == [("added", 1), ("kept", 1)]
    assert httpx.get(f"{tenant}/flows/api.one/old").status_code == 200
    answer = httpx.post(f"{tenant}/flows/bulk", content=body, headers=YAML)
    assert sorted((f["id"], f["deleted"]) for f in answer.json()) == [
        ("added", False), ("kept", False), ("old", True)]
    assert httpx.get(f"{tenant}/flows/api.one/old").status_code == 404
    twice = httpx.post(f"{tenant}/flows/bulk", content=body + "---\n" + _flow("kept", "api.two"), headers=YAML)
    assert twice.status_code == 422 and "duplicate flow id" in twice.json()["details"][0]
    assert api.http.get(api.url("/flows/search"), params={"size": 1}).json()["total"] == in_main, \
        "the flows of tenant main are untouched"
