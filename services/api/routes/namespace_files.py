"""Kestra's namespace-file REST paths under `/namespaces/{namespace}/files` (Kestra's
NamespaceFileController): upload (multipart `fileContent`, a `.zip` is expanded), download,
stats, directory listing and creation, move, delete, search, export.

Files are kept in internal storage under `<namespace as folders>/_files/`
(`ostinato/storage/namespace_files.py`), where the namespace's flows read them (`read()`,
scripts' `namespaceFiles`). Storage calls are file-system or network work: the handlers that make them
are plain functions, run on the server's thread pool.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ostinato.services.api.routes.common import FILE_BODY, api_of
from ostinato.services.api.errors import ApiError, not_found
from ostinato.services.api.limits import bounded_form
from ostinato.storage import FolderStorage
from ostinato.storage import namespace_files as nsf

router = APIRouter(tags=["Files"])


def _storage(request: Request) -> FolderStorage:
    return api_of(request).storage


def _path(namespace: str, path: str | None) -> str:
    """The storage path of a namespace file; 422 for a bad namespace or path."""
    try:
        return nsf.storage_path(namespace, path)
    except nsf.BadNamespacePath as error:
        raise ApiError(422, str(error)) from None


def _relative(path: str | None) -> str:
    """A namespace file path normalised; 422 for a bad one."""
    try:
        return nsf.relative_path(path)
    except nsf.BadNamespacePath as error:
        raise ApiError(422, str(error)) from None


def _ensure_root(storage: FolderStorage, namespace: str) -> str:
    """The namespace's files folder, created when missing (as Kestra does on a first list)."""
    root = _path(namespace, None)
    storage.make_dir(root)
    return root


@router.get("/namespaces/{namespace}/files/search", summary="Files whose path contains `q`")
def search(namespace: str, q: str, request: Request) -> Any:
    storage = _storage(request)
    paths = storage.files_under(_path(namespace, None))
    return [nsf.display_path(p) for p in paths if q in nsf.display_path(p)]


@router.get("/namespaces/{namespace}/files/stats", summary="A namespace file's attributes")
def stats(namespace: str, request: Request, path: str | None = None) -> Any:
    storage = _storage(request)
    target = _ensure_root(storage, namespace) if not _relative(path) else _path(namespace, path)
    found = storage.stat(target)
    if found is None:
        raise not_found(f"No namespace file `{path}` in namespace {namespace}")
    return nsf.attributes(found)


@router.get("/namespaces/{namespace}/files/directory", summary="List directory content")
def list_directory(namespace: str, request: Request, path: str | None = None) -> Any:
    storage = _storage(request)
    target = _path(namespace, path)
    if not _relative(path):
        _ensure_root(storage, namespace)
    entries = storage.entries(target)
    if entries is None:
        raise not_found(f"No directory `{path}` in namespace {namespace}")
    return [nsf.attributes(entry) for entry in entries]


@router.post("/namespaces/{namespace}/files/directory", summary="Create a directory")
def create_directory(namespace: str, request: Request, path: str | None = None) -> Response:
    _storage(request).make_dir(_path(namespace, path))
    return Response(status_code=200)


@router.get("/namespaces/{namespace}/files/export", summary="Export namespace files as a ZIP")
def export(namespace: str, request: Request) -> Response:
    storage, root = _storage(request), _path(namespace, None)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in storage.files_under(root):
            archive.writestr(relative, storage.get(f"{root}/{relative}"))
    return Response(buffer.getvalue(), media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{namespace}_files.zip"'})


@router.get("/namespaces/{namespace}/files", summary="Get namespace file content")
def download(namespace: str, path: str, request: Request) -> Response:
    target = _path(namespace, path)
    try:
        content = _storage(request).get(target)
    except FileNotFoundError:
        raise not_found(f"No namespace file `{path}` in namespace {namespace}") from None
    return Response(content, media_type="application/octet-stream")


@router.post("/namespaces/{namespace}/files", summary="Create a file", openapi_extra=FILE_BODY)
async def upload(namespace: str, request: Request, path: str | None = None) -> Response:
    """The multipart part `fileContent` stored at `path`; a `.zip` is expanded into the
    namespace's folder (each entry at its own path, under the upload budget)."""
    api = api_of(request)
    filename, content = await _file_part(request)
    if filename.lower().endswith(".zip"):
        try:
            members = nsf.zip_members(content, api.settings.max_upload)
        except nsf.BadNamespacePath as error:
            raise ApiError(422, str(error)) from None
        targets = [(_path(namespace, name), data) for name, data in members]
    else:
        if not _relative(path):
            raise ApiError(422, "The `path` query parameter must name the file to create")
        targets = [(_path(namespace, path), content)]

    def store() -> None:
        for target, data in targets:
            api.storage.put(target, data)

    await run_in_threadpool(store)
    return Response(status_code=200)


@router.put("/namespaces/{namespace}/files", summary="Move a file or directory")
def move(namespace: str, request: Request) -> Response:
    given = request.query_params
    source, target = given.get("from"), given.get("to")
    if not source or not target:
        raise ApiError(422, "Moving needs the `from` and `to` query parameters")
    try:
        _storage(request).move(_path(namespace, source), _path(namespace, target))
    except FileNotFoundError:
        raise not_found(f"No namespace file `{source}` in namespace {namespace}") from None
    except FileExistsError:
        raise ApiError(409, f"`{target}` already exists in namespace {namespace}") from None
    return Response(status_code=200)


@router.delete("/namespaces/{namespace}/files", summary="Delete a file or directory")
def delete(namespace: str, path: str, request: Request) -> Response:
    """Delete the file or folder (`/`: every file of the namespace), then each parent
    folder left empty (Kestra's cascade)."""
    storage, relative = _storage(request), _relative(path)
    if not relative:  # `kestra namespace files update --delete` empties the namespace first
        storage.delete(_path(namespace, None))
        return Response(status_code=200)
    storage.delete(_path(namespace, relative))
    parent = relative.rpartition("/")[0]
    while parent:
        entries = storage.entries(_path(namespace, parent))
        if entries is None or entries:
            break
        storage.delete(_path(namespace, parent))
        parent = parent.rpartition("/")[0]
    return Response(status_code=200)


async def _file_part(request: Request) -> tuple[str, bytes]:
    """(file name, bytes) of the upload's `fileContent` part (the only file part used)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(415, "A namespace file is uploaded as multipart/form-data, in the "
                            "part `fileContent`")
    settings = api_of(request).settings
    form = await bounded_form(request.headers, request.stream(), max_fields=settings.max_body,
                              max_files=settings.max_upload)
    try:
        part = form.get("fileContent")
        if not isinstance(part, UploadFile):
            raise ApiError(422, "The multipart body has no file part `fileContent`")
        return part.filename or "file", await part.read()
    finally:
        await form.close()
