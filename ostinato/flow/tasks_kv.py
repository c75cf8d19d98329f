"""Models of Kestra's KV-store tasks (`io.kestra.plugin.core.kv.*`); their runner is
`ostinato/tasks/kv.py`, the store `ostinato/kv/`."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from ostinato.flow.tasks import Task, _check_duration, kestra_task
from ostinato.kv.values import TYPES

#: the namespace a KV task uses when it names none: the flow's
FLOW_NAMESPACE = "{{ flow.namespace }}"


@kestra_task("io.kestra.plugin.core.kv.Set")
class KvSet(Task):
    """Sets `key` to `value` (typed by `kvType`, else by the rendered value), with an
    optional `ttl`; fails when the key exists and `overwrite` is false."""

    key: str
    value: Any
    namespace: str = FLOW_NAMESPACE
    overwrite: bool | str = True
    ttl: str | None = None
    kv_type: str | None = None
    #: Kestra's description of the pair (shown in its UI); accepted, not kept
    kv_description: str | None = None

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str | None) -> str | None:
        return None if value is None else _check_duration(value)

    @field_validator("kv_type")
    @classmethod
    def _kv_type(cls, value: str | None) -> str | None:
        if value is not None and "{{" not in value and value.upper() not in TYPES:
            raise ValueError(f"`kvType` must be one of {', '.join(TYPES)}, got `{value}`")
        return value


@kestra_task("io.kestra.plugin.core.kv.Get")
class KvGet(Task):
    """Output `value`: the value of `key` (null when missing, unless `errorOnMissing`)."""

    key: str
    namespace: str = FLOW_NAMESPACE
    error_on_missing: bool | str = False


@kestra_task("io.kestra.plugin.core.kv.GetKeys")
class KvGetKeys(Task):
    """Output `keys`: the live keys of the namespace that start with `prefix` (all without)."""

    prefix: str | None = None
    namespace: str = FLOW_NAMESPACE


@kestra_task("io.kestra.plugin.core.kv.Delete")
class KvDelete(Task):
    """Output `deleted`: whether `key` had a value (fails when not, with `errorOnMissing`)."""

    key: str
    namespace: str = FLOW_NAMESPACE
    error_on_missing: bool | str = False
