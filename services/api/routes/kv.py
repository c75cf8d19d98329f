"""Kestra's KV REST paths: `/namespaces/{namespace}/kv[/{key}]` (list, get, put, delete, bulk
delete), as Kestra's KVController answers them and Terraform's `kestra_kv` and Kestra's CLI
call them.

A PUT body is the value, read as Kestra reads it whatever the content type (Terraform sends
none, the CLI `application/json`): `"text"`, `42`, `true`, `{"a": 1}`, a bare ISO date-time
or date, a bare word; the `ttl` header is an ISO-8601 duration. Reads and writes block on the
store (a write waits until this replica's table has read it), so the handlers are plain
functions, run on the server's thread pool.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ostinato.kv.access import KvAccess
from ostinato.kv.store import KvUnavailable
from ostinato.kv.values import KvError, KvTooLarge, parse_body, parse_ttl, validate_key
from ostinato.services.api.context import tenant_id_of
from ostinato.services.api.errors import ApiError, not_found

router = APIRouter(tags=["KV"])


def store_of(request: Request) -> KvAccess:
    """The API's KV store (`app.state.kv`, set by `create_app`); 503 when it has none."""
    store: KvAccess | None = getattr(request.app.state, "kv", None)
    if store is None:
        raise ApiError(503, "The KV store is not available on this API replica")
    return store


def _tenant(request: Request) -> str | None:
    return tenant_id_of(request.path_params.get("tenant"))


def _key(key: str) -> str:
    try:
        return validate_key(key)
    except KvError as error:
        raise ApiError(422, str(error)) from None


def _failed(error: Exception) -> ApiError:
    """The answer to a store error: 413 for a value too large, 422 for a refused one, 503
    when the broker did not take the write."""
    if isinstance(error, KvTooLarge):
        return ApiError(413, str(error))
    if isinstance(error, KvError):
        return ApiError(422, str(error))
    return ApiError(503, str(error))


@router.get("/namespaces/{namespace}/kv", summary="List all keys for a namespace")
def list_keys(namespace: str, request: Request) -> Any:
    """Kestra's `KVEntry` list: key, creationDate, updateDate, expirationDate (live ones)."""
    return [entry.listing() for entry in store_of(request).list(_tenant(request), namespace)]


@router.get("/namespaces/{namespace}/kv/{key}", summary="Get value for a key")
def get_value(namespace: str, key: str, request: Request) -> Any:
    """`{"type": ..., "value": ...}`; 404 when the key is missing or expired."""
    entry = store_of(request).get(_tenant(request), namespace, _key(key))
    if entry is None:
        raise not_found(f"No value found for key '{key}' in namespace '{namespace}'")
    return {"type": entry.type, "value": entry.value}


@router.put("/namespaces/{namespace}/kv/{key}", summary="Puts a key-value pair in store",
            openapi_extra={"requestBody": {"content": {"application/json": {"schema": {}}}}})
async def put_value(namespace: str, key: str, request: Request) -> Response:
    """Set the key to the body's value (typed as Kestra types it); `ttl` header: expiry."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        value = parse_body(body)
        ttl = parse_ttl(request.headers.get("ttl"))
    except KvError as error:
        raise ApiError(422, str(error)) from None
    store = store_of(request)
    tenant, checked = _tenant(request), _key(key)
    try:
        await _in_thread(lambda: store.put(tenant, namespace, checked, value, ttl=ttl))
    except (KvError, KvUnavailable) as error:
        raise _failed(error) from None
    return Response(status_code=200)


@router.delete("/namespaces/{namespace}/kv/{key}", summary="Delete a key-value pair")
def delete_value(namespace: str, key: str, request: Request) -> Any:
    """`true` when the key had a value, `false` otherwise (200 either way, as Kestra)."""
    try:
        return JSONResponse(store_of(request).delete(_tenant(request), namespace, _key(key)))
    except KvUnavailable as error:
        raise _failed(error) from None


@router.delete("/namespaces/{namespace}/kv", summary="Bulk-delete keys of a namespace")
async def delete_keys(namespace: str, request: Request) -> Any:
    """Body `{"keys": [...]}`; answers `{"keys": [the ones deleted]}`."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(422, "The body must be JSON: {\"keys\": [...]}") from None
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ApiError(422, "The body must be {\"keys\": [...]}, a list of key names")
    store, tenant = store_of(request), _tenant(request)

    def delete_each() -> list[str]:
        return [k for k in keys if _deleted(store, tenant, namespace, k)]

    return {"keys": await _in_thread(delete_each)}


def _deleted(store: KvAccess, tenant: str | None, namespace: str, key: str) -> bool:
    """Whether `key` was deleted; a bad key or a failed write counts as not (as Kestra)."""
    try:
        return store.delete(tenant, namespace, key)
    except (KvError, KvUnavailable):
        return False


async def _in_thread(call: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(call)
