"""End to end on S3: the services (executor, worker, scheduler, API) with their internal
storage in a bucket of a real S3 API server (moto, tests/storage/conftest.py), chosen only
through OSTINATO_STORAGE. A FILE input uploaded over the API, a namespace file, a script's input
and output files and a Write task's file all go to the bucket, are read back over the
API's download routes, and go away with the execution."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack
from ostinato.storage import execution_prefix, uri_path
from tests.api.conftest import ApiServer, wait_until_serving
from tests.api.helpers import deploy, wait_until
from tests.storage.conftest import S3Server

NAMESPACE = "storage.s3"
FLOW = f"""id: s3-files
namespace: {NAMESPACE}
inputs:
  - id: doc
    type: FILE
tasks:
  - id: script
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      enabled: true
    inputFiles:
      in.txt: "{{{{ inputs.doc }}}}"
    outputFiles:
      - out.txt
    commands:
      - tr a-z A-Z < in.txt > out.txt
      - cat notes/extra.txt >> out.txt
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "{{{{ read(outputs.script.outputFiles['out.txt']) }}}}|{{{{ read('notes/extra.txt') }}}}"
    extension: .txt
"""


@pytest.fixture(scope="module")
def s3_api(s3_server: S3Server,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, str]]:
    """The services on the embedded broker, their storage `s3://bucket/<prefix>`; yields
    the API and the prefix."""
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {**s3_server.env(), "OSTINATO_STORAGE": f"s3://{s3_server.bucket}/{prefix}"}
    stack = LocalStack(data_dir=tmp_path_factory.mktemp("s3stack"),
                       services=("executor", "worker", "scheduler", "api"),
                       api_port=free_port(), flow_wait=3.0, env=env)
    stack.start()
    try:
        base_url = f"http://127.0.0.1:{stack.api_port}"
        wait_until_serving(base_url)
        with httpx.Client(base_url=base_url, timeout=60) as http:
            yield ApiServer(stack, base_url, http), prefix
    finally:
        stack.stop()
        for name in ("worker", "api"):
            log = stack.data_dir / "logs" / f"{name}.log"
            if log.exists() and "Traceback" in log.read_text():
                print(f"--- {name} log had a traceback:\n{log.read_text()[-3000:]}")


def _local_files(stack: LocalStack) -> list[Path]:
    return [p for p in stack.storage_dir.rglob("*") if p.is_file()] if stack.storage_dir.exists() else []


def test_files_of_an_execution_live_in_the_bucket(s3_api: tuple[ApiServer, str], s3_server: S3Server) -> None:
    api, prefix = s3_api
    upload = api.http.post(api.url(f"/namespaces/{NAMESPACE}/files"), params={"path": "/notes/extra.txt"},
                           files={"fileContent": ("extra.txt", b"from the namespace", "text/plain")})
    assert upload.status_code == 200, upload.text
    listed = api.http.get(api.url(f"/namespaces/{NAMESPACE}/files/directory"), params={"path": "/notes"})
    assert [(e["fileName"], e["type"], e["size"]) for e in listed.json()] == [("extra.txt", "File", 18)]
    deploy(api, FLOW)

    execution = api.http.post(api.url(f"/executions/{NAMESPACE}/s3-files"), params={"wait": "true"},
                              files={"doc": ("a.txt", b"hello s3\n", "text/plain")}).json()
    assert execution["state"]["current"] == "SUCCESS", execution
    runs = {run["taskId"]: run for run in execution["taskRunList"]}
    written = runs["write"]["outputs"]["uri"]
    answer = api.http.get(api.url(f"/executions/{execution['id']}/file"), params={"path": written})
    assert answer.status_code == 200, answer.text
    assert answer.content == b"HELLO S3\nfrom the namespace|from the namespace"
    metas = api.http.get(api.url(f"/executions/{execution['id']}/file/metas"), params={"path": written})
    assert metas.json() == {"size": len(answer.content)}

    folder = f"{prefix}/{execution_prefix(NAMESPACE, 's3-files', execution['id'])}/"
    keys = [key for key in s3_server.keys() if key.startswith(folder)]
    assert f"{prefix}/{uri_path(execution['inputs']['doc'])}" in keys
    assert f"{prefix}/{uri_path(written)}" in keys
    assert f"{prefix}/{uri_path(runs['script']['outputs']['outputFiles']['out.txt'])}" in keys
    assert f"{prefix}/storage/s3/_files/notes/extra.txt" in s3_server.keys()
    assert _local_files(api.stack) == [], "nothing is written to the local storage directory"

    assert api.http.delete(api.url(f"/executions/{execution['id']}")).status_code == 204
    wait_until(lambda: not [k for k in s3_server.keys() if k.startswith(folder)],
               what="the execution's objects deleted with it", timeout=30)


def test_a_namespace_file_downloads_and_moves_on_s3(s3_api: tuple[ApiServer, str],
                                                     s3_server: S3Server) -> None:
    api, prefix = s3_api
    files = api.url(f"/namespaces/{NAMESPACE}/files")
    assert api.http.post(files, params={"path": "/m/one.txt"},
                         files={"fileContent": ("one.txt", b"1", "text/plain")}).status_code == 200
    assert api.http.put(files, params={"from": "/m", "to": "/n"}).status_code == 200
    assert api.http.get(files, params={"path": "/n/one.txt"}).content == b"1"
    assert api.http.get(files, params={"path": "/m/one.txt"}).status_code == 404
    assert f"{prefix}/storage/s3/_files/n/one.txt" in s3_server.keys()
    assert api.http.delete(files, params={"path": "/n/one.txt"}).status_code == 200
    assert not [k for k in s3_server.keys() if k.startswith(f"{prefix}/storage/s3/_files/n/")]
