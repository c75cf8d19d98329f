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
from ostinato.storage import LocalStorage
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from services.api.view import ExecutionView

DEFAULT_TENANT = "main"


@dataclass(frozen=True)
class ApiSettings:
    """HTTP behaviour, each from an environment variable (see `from_env`)."""

    #: `user:password` for HTTP basic authentication; None: no authentication
    basic_auth: tuple[str, str] | None = None
    #: origins allowed by CORS (`*` for any); empty: no CORS headers
    cors_origins: tuple[str, ...] = ()
    #: webhook bodies larger than this are refused with 413
    max_webhook_body: int = 1024 * 1024
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
            max_webhook_body=int(env.get("OSTINATO_API_MAX_WEBHOOK_BODY") or 1024 * 1024),
            read_wait=float(env.get("OSTINATO_API_READ_WAIT") or 2.0),
            retention=_duration(env.get("OSTINATO_API_RETENTION"), "OSTINATO_API_RETENTION"),
            retention_sweep=float(env.get("OSTINATO_API_RETENTION_SWEEP") or 60.0),
        )


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
        super().__init__(settings)
        self.start_polling()

    async def send_tombstone(self, topic: str, key: str) -> None:
        """A record with no value: the deletion of `key` on a compacted topic."""
        await self.send(topic, key, None)


@dataclass
class Api:
    kafka: KafkaSettings
    codec: Codec
    flows: FlowTable
    writer: FlowWriter
    view: ExecutionView
    storage: LocalStorage
    producer: AsyncProducer
    settings: ApiSettings = field(default_factory=ApiSettings)

    @property
    def ready(self) -> bool:
        return self.flows.caught_up and self.view.caught_up

    async def send_event(self, event: ev.Event) -> None:
        """Produce an executor event (request, kill, resume, restart, replay)."""
        name, record = rec.event_to_record(event)
        await self.producer.send("executor", event.execution_id, self.codec.encode(name, record))


def tenant_id_of(tenant: str | None) -> str | None:
    """The tenant id records carry: None for the default tenant `main`."""
    return None if tenant in (None, "", DEFAULT_TENANT) else tenant
