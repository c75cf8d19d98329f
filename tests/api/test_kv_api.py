"""The KV REST paths against the session stack, replaying the calls Terraform's `kestra_kv`
(PUT without a content type, GET `{type, value}`, DELETE) and Kestra's CLI (`kestra
namespace kv update`: PUT `application/json`, `ttl` header) make, and flows reading what
REST wrote (issue 11)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, ended, wait_execution, wait_until


def namespace() -> str:
    return f"kv.n{uuid.uuid4().hex[:8]}"


def terraform(api: ApiServer, method: str, path: str, body: str | None = None) -> httpx.Response:
    """A request as the provider's rawResponseRequest builds it: no tenant in the path (its
    apiRoot without a tenant id), no content type on the PUT."""
    request = api.http.build_request(method, f"{api.base_url}/api/v1{path}",
                                     content=None if body is None else body.encode())
    request.headers.pop("content-type", None)
    return api.http.send(request)


@pytest.mark.parametrize("sent, kind, value", [
    ('"hello world"', "STRING", "hello world"),   # the provider quotes a plain string
    ("42", "NUMBER", 42),
    ("true", "BOOLEAN", True),
    ('{"env": "prod", "replicas": [1, 2]}', "JSON", {"env": "prod", "replicas": [1, 2]}),
    ("PT15M", "DURATION", "PT15M"),
    ("2024-05-01T10:00:00Z", "DATETIME", "2024-05-01T10:00:00Z"),
])
def test_terraform_put_read_delete(api: ApiServer, sent: str, kind: str, value: Any) -> None:
    ns = namespace()
    put = terraform(api, "PUT", f"/namespaces/{ns}/kv/my_key", sent)
    assert put.status_code == 200, put.text
    read = terraform(api, "GET", f"/namespaces/{ns}/kv/my_key")
    assert read.status_code == 200 and read.json() == {"type": kind, "value": value}
    # the tenant form answers the same
    assert api.http.get(api.url(f"/namespaces/{ns}/kv/my_key")).json() == {"type": kind, "value": value}
    assert terraform(api, "DELETE", f"/namespaces/{ns}/kv/my_key").status_code == 200
    assert terraform(api, "GET", f"/namespaces/{ns}/kv/my_key").status_code == 404


def test_cli_update_with_expiration_and_the_list(api: ApiServer) -> None:
    ns = namespace()
    headers = {"Content-Type": "application/json"}
    # `kestra namespace kv update NS stays '{"a": 1}'` then `... expires '"soon"' -e PT2S`
    stays = api.http.put(api.url(f"/namespaces/{ns}/kv/stays"), content='{"a": 1}', headers=headers)
    expires = api.http.put(api.url(f"/namespaces/{ns}/kv/expires"), content='"soon"',
                           headers={**headers, "ttl": "PT2S"})
    assert (stays.status_code, expires.status_code) == (200, 200), (stays.text, expires.text)
    listing = api.http.get(api.url(f"/namespaces/{ns}/kv")).json()
    assert [e["key"] for e in listing] == ["expires", "stays"]
    assert set(listing[0]) == {"key", "creationDate", "updateDate", "expirationDate"}
    assert listing[0]["expirationDate"] is not None and listing[1]["expirationDate"] is None
    wait_until(lambda: api.http.get(api.url(f"/namespaces/{ns}/kv/expires")).status_code == 404,
               what="the key with a 2 s TTL reads as missing", timeout=15)
    assert [e["key"] for e in api.http.get(api.url(f"/namespaces/{ns}/kv")).json()] == ["stays"]
    bulk = api.http.request("DELETE", api.url(f"/namespaces/{ns}/kv"),
                            json={"keys": ["stays", "never_set"]})
    assert bulk.status_code == 200 and bulk.json() == {"keys": ["stays"]}


def test_bad_keys_bodies_and_ttls_are_refused_with_the_reason(api: ApiServer) -> None:
    ns = namespace()
    bad_key = api.http.put(api.url(f"/namespaces/{ns}/kv/-bad"), content="1")
    assert bad_key.status_code == 422 and "alphanumeric" in bad_key.json()["message"]
    bad_body = api.http.put(api.url(f"/namespaces/{ns}/kv/k"), content="two words")
    assert bad_body.status_code == 422 and "Invalid JSON value" in bad_body.json()["message"]
    bad_ttl = api.http.put(api.url(f"/namespaces/{ns}/kv/k"), content="1", headers={"ttl": "soon"})
    assert bad_ttl.status_code == 422 and "ttl" in bad_ttl.json()["message"]
    assert api.http.get(api.url(f"/namespaces/{ns}/kv/k")).status_code == 404


FLOW = """
id: reads_kv
namespace: {ns}
tasks:
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: api_config
  - id: by_function
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ kv('api_config').endpoint }}}} {{{{ kv('missing', errorOnMissing=false) ?? 'none' }}}}"
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: written_by_flow
    value: "{{{{ outputs.get.value.retries + 1 }}}}"
    kvType: NUMBER
"""


def test_a_value_written_through_rest_is_read_by_a_flow_and_back(api: ApiServer) -> None:
    ns = namespace()
    put = api.http.put(api.url(f"/namespaces/{ns}/kv/api_config"),
                       content='{"endpoint": "https://example.com", "retries": 2}')
    assert put.status_code == 200, put.text
    deploy(api, FLOW.format(ns=ns))
    created = api.http.post(api.url(f"/executions/{ns}/reads_kv"))
    assert created.status_code == 200, created.text
    execution = wait_execution(api, created.json()["id"], ended, what="the flow reading KV ends")
    assert execution["state"]["current"] == "SUCCESS", execution
    outputs = {r["taskId"]: r.get("outputs") for r in execution["taskRunList"]}
    assert outputs["get"] == {"value": {"endpoint": "https://example.com", "retries": 2}}
    assert outputs["by_function"] == {"value": "https://example.com none"}
    # the API reads KV through its own table of the `kv` topic: a worker's write reaches it
    # a fetch wait after the execution's end
    def written() -> Any:
        answer = api.http.get(api.url(f"/namespaces/{ns}/kv/written_by_flow"))
        return answer.json() if answer.status_code == 200 else None

    assert wait_until(written, what="the flow's KV write in the API's table", timeout=10) == {
        "type": "NUMBER", "value": 3}
