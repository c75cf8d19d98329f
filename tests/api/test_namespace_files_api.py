"""Namespace files over REST against the session stack, replaying Terraform's
`kestra_namespace_file` calls (multipart `fileContent` POST with `?path=`, GET `?path=`,
DELETE `?path=` with `application/json`), the UI's directory/stats/move calls, and flows that
use the files: a Python script with `namespaceFiles` and `read()` (issue 11)."""

from __future__ import annotations

import io
import uuid
import zipfile

from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, ended, wait_execution, wait_until


def namespace() -> str:
    return f"nsfiles.n{uuid.uuid4().hex[:8]}"


def upload(api: ApiServer, ns: str, path: str, content: bytes, filename: str = "file.txt") -> None:
    # the provider's addFilePartRequest: one part `fileContent` named file.txt
    answer = api.http.post(f"{api.base_url}/api/v1/namespaces/{ns}/files", params={"path": path},
                           files={"fileContent": (filename, content)})
    assert answer.status_code == 200, answer.text


def test_terraform_create_read_delete_and_the_ui_calls(api: ApiServer) -> None:
    ns = namespace()
    upload(api, ns, "/scripts/hello.py", b"print('hello')\n")
    read = api.http.get(f"{api.base_url}/api/v1/namespaces/{ns}/files", params={"path": "/scripts/hello.py"})
    assert read.status_code == 200 and read.content == b"print('hello')\n"
    root = api.http.get(api.url(f"/namespaces/{ns}/files/directory")).json()
    assert [(e["fileName"], e["type"]) for e in root] == [("scripts", "Directory")]
    listing = api.http.get(api.url(f"/namespaces/{ns}/files/directory"), params={"path": "/scripts"}).json()
    assert [(e["fileName"], e["type"], e["size"]) for e in listing] == [("hello.py", "File", 15)]
    assert set(listing[0]) == {"fileName", "lastModifiedTime", "creationTime", "type", "size", "metadata"}
    stats = api.http.get(api.url(f"/namespaces/{ns}/files/stats"), params={"path": "/scripts/hello.py"})
    assert stats.json()["type"] == "File"
    assert api.http.post(api.url(f"/namespaces/{ns}/files/directory"), params={"path": "/empty/a"}).status_code == 200
    moved = api.http.put(api.url(f"/namespaces/{ns}/files"),
                         params={"from": "/scripts/hello.py", "to": "/lib/hello.py"})
    assert moved.status_code == 200, moved.text
    assert api.http.get(api.url(f"/namespaces/{ns}/files/search"), params={"q": "hello"}).json() == ["/lib/hello.py"]
    deleted = api.http.request("DELETE", f"{api.base_url}/api/v1/namespaces/{ns}/files",
                               params={"path": "/lib/hello.py"}, headers={"Content-Type": "application/json"})
    assert deleted.status_code == 200, deleted.text
    missing = api.http.get(api.url(f"/namespaces/{ns}/files"), params={"path": "/lib/hello.py"})
    assert missing.status_code == 404
    names = {e["fileName"] for e in api.http.get(api.url(f"/namespaces/{ns}/files/directory")).json()}
    assert names == {"scripts", "empty"}  # `lib` went with its only file (Kestra's cascade)


def test_cli_update_with_delete_replaces_the_namespace_files(api: ApiServer) -> None:
    ns = namespace()
    upload(api, ns, "/old.txt", b"old")
    # `kestra namespace files update NS ./local / --delete`: DELETE ?path=/, then one POST
    # per file with the part named after the file
    cleared = api.http.request("DELETE", f"{api.base_url}/api/v1/namespaces/{ns}/files",
                               params={"path": "/"})
    assert cleared.status_code == 200, cleared.text
    upload(api, ns, "/queries/report.sql", b"select 1", filename="report.sql")
    assert api.http.get(api.url(f"/namespaces/{ns}/files/search"), params={"q": "/"}).json() == [
        "/queries/report.sql"]


def test_escaping_and_reserved_paths_are_refused(api: ApiServer) -> None:
    ns = namespace()
    for path in ("/../../etc/passwd", "/_flows/x.yml"):
        answer = api.http.post(api.url(f"/namespaces/{ns}/files"), params={"path": path},
                               files={"fileContent": ("file.txt", b"x")})
        assert answer.status_code == 422, (path, answer.text)
    escape = api.http.get(api.url(f"/namespaces/{ns}/files"), params={"path": "../../x"})
    assert escape.status_code == 422


def test_a_zip_upload_is_expanded_and_exported_back(api: ApiServer) -> None:
    ns = namespace()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "A")
        archive.writestr("dir/b.txt", "B")
    upload(api, ns, "/", buffer.getvalue(), filename="files.zip")
    assert api.http.get(api.url(f"/namespaces/{ns}/files"), params={"path": "dir/b.txt"}).content == b"B"
    exported = api.http.get(api.url(f"/namespaces/{ns}/files/export"))
    assert sorted(zipfile.ZipFile(io.BytesIO(exported.content)).namelist()) == ["a.txt", "dir/b.txt"]


# Kestra's namespace-files documentation: a script loads the namespace's files, `read()`
# reads one
FLOW = """
id: python_namespace_files
namespace: {ns}
tasks:
  - id: python
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
      include:
        - scripts/**
      exclude:
        - scripts/unwanted.py
    commands:
      - python scripts/main.py
      - ls scripts
  - id: read_file
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read('scripts/greeting.txt') }}}}"
"""


def test_uploaded_files_are_used_by_a_script_and_by_read(api: ApiServer) -> None:
    ns = namespace()
    upload(api, ns, "/scripts/main.py",
           b"from helper import name\nprint(open('scripts/greeting.txt').read().strip(), name)\n")
    upload(api, ns, "/scripts/helper.py", b"name = 'from a namespace file'\n")
    upload(api, ns, "/scripts/greeting.txt", b"Hello")
    upload(api, ns, "/scripts/unwanted.py", b"raise SystemExit(3)\n")
    deploy(api, FLOW.format(ns=ns))
    created = api.http.post(api.url(f"/executions/{ns}/python_namespace_files"))
    assert created.status_code == 200, created.text
    execution = wait_execution(api, created.json()["id"], ended, what="the namespace-files flow ends")
    def messages() -> list[str]:
        return [line["message"] for line in api.http.get(api.url(f"/logs/{execution['id']}")).json()]

    # logs travel on their own topic: wait for the script's line rather than assume it is there
    lines = wait_until(lambda: (m := messages()) and any(x.startswith("Hello") for x in m) and m,
                       what="the script's output line", timeout=15)
    assert execution["state"]["current"] == "SUCCESS", lines
    outputs = {r["taskId"]: r.get("outputs") for r in execution["taskRunList"]}
    assert outputs["read_file"] == {"value": "Hello"}
    assert "Hello from a namespace file" in lines, lines
    listed = [m for m in lines if m.endswith(".py") or m.endswith(".txt")]
    assert "unwanted.py" not in listed and "main.py" in listed, listed
