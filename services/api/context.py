"""What the API's handlers share: its settings, the flow table and writer, the view, the
storage, and a producer whose deliveries handlers can await."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from ostinato.decider import events as ev
from ostinato.flow.durations import InvalidDuration, parse_duration
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.flow_writer import FlowWriter
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.storage import FolderStorage
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from ostinato.services.api.errors import ApiError
from ostinato.services.api.limits import CpuPool
from ostinato.services.api.view import ExecutionView

#: what Kafka adds to a record (headers, lengths, batch framing)
RECORD_OVERHEAD = 512

DEFAULT_TENANT = "main"

#: the largest record the API's producer sends (librdkafka's `message.max.bytes`, set
#: explicitly), hence the largest execution request it can hand to the executor
PRODUCER_MAX_MESSAGE = 1_000_000
#: room kept in a record for what is not inputs (ids, labels, trigger, framing)
RECORD_MARGIN = 64 * 1024


@dataclass(frozen=True)
class ApiSettings:
    """HTTP behaviour, each from an environment variable (see `from_env`)."""

    #: `user:password` for HTTP basic authentication; None: no authentication
    basic_auth: tuple[str, str] | None = None
    #: origins allowed by CORS (`*` for any); empty: no CORS headers
    cors_origins: tuple[str, ...] = ()
    #: webhook bodies larger than this are refused with 413
    max_webhook_body: int = 1024 * 1024
    #: any other body (a multipart request's fields together) larger than this: 413
    max_body: int = 4 * 1024 * 1024
    #: the files of one multipart request together larger than this: 413
    max_upload: int = 64 * 1024 * 1024
    #: an execution's typed inputs, as JSON, larger than this: 413 (below the context limit
    #: and the broker's message size, so that the request reaches the executor and fits)
    max_inputs: int = 512 * 1024
    #: JSON (bodies, JSON and ARRAY inputs, webhook bodies) nested deeper than this: 422
    max_json_depth: int = 128
    #: the executor's context limit (the same OSTINATO_CONTEXT_LIMIT the executor reads)
    context_limit: int = 1 << 20
    #: threads that parse and validate (never the event loop)
    parse_threads: int = 2
    #: how long a read waits for an execution this replica has not seen yet
    read_wait: float = 2.0
    #: executions that ended longer ago are dropped from the view (None: kept forever)
    retention: timedelta | None = None
    #: how often the view looks for executions past retention
    retention_sweep: float = 60.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ApiSettings:
        env = dict(os.environ if env is None else env)
        auth = env.get("OSTINATO_API_BASIC_AUTH") or None
        if auth is not None and ":" not in auth:
            raise ValueError("OSTINATO_API_BASIC_AUTH must be `user:password`")
        origins = tuple(o.strip() for o in (env.get("OSTINATO_API_CORS_ORIGINS") or "").split(",")
                        if o.strip())
        return cls(
            basic_auth=tuple(auth.split(":", 1)) if auth else None,  # type: ignore[arg-type]
            cors_origins=origins,
            max_webhook_body=_size(env, "OSTINATO_API_MAX_WEBHOOK_BODY", 1024 * 1024),
            max_body=_size(env, "OSTINATO_API_MAX_BODY", 4 * 1024 * 1024),
            max_upload=_size(env, "OSTINATO_API_MAX_UPLOAD", 64 * 1024 * 1024),
            max_inputs=_size(env, "OSTINATO_API_MAX_INPUTS", 512 * 1024),
            max_json_depth=_size(env, "OSTINATO_API_MAX_JSON_DEPTH", 128),
            context_limit=_size(env, "OSTINATO_CONTEXT_LIMIT", 1 << 20),
            parse_threads=_size(env, "OSTINATO_API_PARSE_THREADS", 2),
            read_wait=float(env.get("OSTINATO_API_READ_WAIT") or 2.0),
            retention=_duration(env.get("OSTINATO_API_RETENTION"), "OSTINATO_API_RETENTION"),
            retention_sweep=float(env.get("OSTINATO_API_RETENTION_SWEEP") or 60.0),
        )._checked()

    def _checked(self) -> ApiSettings:
        """Refuse an inputs budget that could not reach the executor or fit its context."""
        ceiling = min(self.context_limit, PRODUCER_MAX_MESSAGE - RECORD_MARGIN)
        if self.max_inputs >= ceiling:
            raise ValueError(
                f"OSTINATO_API_MAX_INPUTS ({self.max_inputs}) must be less than both the "
                f"executor's context limit (OSTINATO_CONTEXT_LIMIT, {self.context_limit}) and "
                f"the broker's message size less {RECORD_MARGIN} bytes of the request's other "
                f"fields ({PRODUCER_MAX_MESSAGE - RECORD_MARGIN})")
        return self


def _size(env: dict[str, str], name: str, default: int) -> int:
    """A positive integer setting (its default when unset); ValueError naming it otherwise."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def _duration(text: str | None, name: str) -> timedelta | None:
    if not text:
        return None
    try:
        return parse_duration(text)
    except InvalidDuration as error:
        raise ValueError(f"{name}: {error}") from None


class AsyncProducer(ConfirmingProducer):
    """The API's producer: the confirming producer with its delivery reports served by a
    thread of its own, so that handlers `await send(...)` until the broker has the record."""

    def __init__(self, settings: KafkaSettings) -> None:
        super().__init__(settings, config={"message.max.bytes": PRODUCER_MAX_MESSAGE})
        self.start_polling()

    async def send_tombstone(self, topic: str, key: str, *, partition: int | None = None) -> None:
        """A record with no value: the deletion of `key` on a compacted topic (in
        `partition` when the key is not what places it: a part of a large execution)."""
        await self.send(topic, key, None, partition=partition)


@dataclass
class Api:
    kafka: KafkaSettings
    codec: Codec
    flows: FlowTable
    writer: FlowWriter
    view: ExecutionView
    storage: FolderStorage
    producer: AsyncProducer
    settings: ApiSettings = field(default_factory=ApiSettings)

    def __post_init__(self) -> None:
        self.cpu = CpuPool(self.settings.parse_threads)

    @property
    def ready(self) -> bool:
        return self.flows.caught_up and self.view.caught_up

    async def send_event(self, event: ev.Event) -> None:
        """Produce an executor event (request, kill, resume, restart, replay)."""
        name, record = rec.event_to_record(event)
        value = self.codec.encode(name, record)
        size = len(value) + len(event.execution_id)
        if size + RECORD_OVERHEAD > PRODUCER_MAX_MESSAGE:
            raise ApiError(413, f"The {name} record of execution {event.execution_id} would be "
                                f"{size} bytes, more than the {PRODUCER_MAX_MESSAGE} bytes the "
                                f"broker takes in one message (with {RECORD_OVERHEAD} bytes of "
                                "framing): send less (large data belongs in files)")
        await self.producer.send("executor", event.execution_id, value)


def tenant_id_of(tenant: str | None) -> str | None:
    """The tenant id records carry: None for the default tenant `main`."""
    return None if tenant in (None, "", DEFAULT_TENANT) else tenant
