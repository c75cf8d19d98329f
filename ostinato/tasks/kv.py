"""Runners of Kestra's KV tasks: `kv.Set`, `kv.Get`, `kv.GetKeys`, `kv.Delete`.

They use the KV store the worker puts in the run context (`RunContext.kv`); the messages of
their failures are Kestra's.
"""

from __future__ import annotations

from typing import Any

from ostinato.flow.tasks_kv import KvDelete, KvGet, KvGetKeys, KvSet
from ostinato.kv.access import KvClient
from ostinato.kv.values import KvError, coerce, parse_ttl, validate_key
from ostinato.tasks.base import RunContext, TaskFailed, register_runner


def _client(ctx: RunContext) -> KvClient:
    if ctx.kv is None:
        raise TaskFailed("The KV store is not available to this worker (it was started "
                         "without one): KV tasks need the worker service or an in-process run "
                         "with a KV store")
    return ctx.kv


def _flag(ctx: RunContext, value: Any) -> bool:
    rendered = ctx.render(value) if isinstance(value, str) else value
    return rendered is True or str(rendered).strip().lower() == "true"


def _target(ctx: RunContext, namespace: str, key: Any | None = None) -> tuple[KvClient, str, str]:
    """The client, the rendered namespace and the rendered key (validated) of a task."""
    client = _client(ctx)
    target = client.namespace(ctx.render_str(namespace))
    rendered_key = "" if key is None else (ctx.render_str(key) or "")
    if key is not None:
        try:
            validate_key(rendered_key)
        except KvError as error:
            raise TaskFailed(str(error)) from None
    return client, target, rendered_key


def run_set(task: KvSet, ctx: RunContext) -> dict[str, Any]:
    """Set the key; a rendered value keeps its type (a whole `{{ expression }}` may render
    a number, a map ...) unless `kvType` converts a string."""
    client, namespace, key = _target(ctx, task.namespace, task.key)
    value = ctx.render(task.value)
    kv_type = ctx.render_str(task.kv_type) if task.kv_type is not None else None
    try:
        client.store.put(client.tenant_id, namespace, key, coerce(value, kv_type),
                         ttl=parse_ttl(task.ttl), overwrite=_flag(ctx, task.overwrite))
    except KvError as error:
        raise TaskFailed(str(error)) from None
    return {}


def run_get(task: KvGet, ctx: RunContext) -> dict[str, Any]:
    client, namespace, key = _target(ctx, task.namespace, task.key)
    entry = client.store.get(client.tenant_id, namespace, key)
    if entry is None and _flag(ctx, task.error_on_missing):
        raise TaskFailed(f"No value found for key '{key}' in namespace '{namespace}' and "
                         "`errorOnMissing` is set to true")
    return {"value": None if entry is None else entry.value}


def run_get_keys(task: KvGetKeys, ctx: RunContext) -> dict[str, Any]:
    client, namespace, _ = _target(ctx, task.namespace)
    prefix = ctx.render_str(task.prefix) if task.prefix is not None else None
    keys = [e.key for e in client.store.list(client.tenant_id, namespace)]
    return {"keys": [k for k in keys if prefix is None or k.startswith(prefix)]}


def run_delete(task: KvDelete, ctx: RunContext) -> dict[str, Any]:
    client, namespace, key = _target(ctx, task.namespace, task.key)
    deleted = client.store.delete(client.tenant_id, namespace, key)
    if not deleted and _flag(ctx, task.error_on_missing):
        raise TaskFailed(f"No value found for key '{key}' in namespace '{namespace}' and "
                         "`errorOnMissing` is set to true")
    return {"deleted": deleted}


register_runner(KvSet, run_set)
register_runner(KvGet, run_get)
register_runner(KvGetKeys, run_get_keys)
register_runner(KvDelete, run_delete)
