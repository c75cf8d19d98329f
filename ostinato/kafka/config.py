"""Kafka client settings and ostinato's topic names.

Every setting also comes from the environment (`OSTINATO_...`), so a deployment sets
them without flags. Nothing here assumes the embedded broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ostinato.logging import kafka_logger

#: the topics of DESIGN.md, plus the executor's store changelog, flow-concurrency admission
#: (requests and its state), the dead letters and the service heartbeats;
#: name -> (cleanup policy, retention ms or None)
TOPIC_POLICIES: dict[str, tuple[str, int | None]] = {
    # append-only, kept forever: the first record of a revision wins (flow_table.py)
    "flows": ("delete", -1),
    "executor": ("delete", 7 * 24 * 3600 * 1000),
    "worker-tasks": ("delete", 7 * 24 * 3600 * 1000),
    "executions": ("compact", None),
    "execution-results": ("delete", 7 * 24 * 3600 * 1000),
    "triggers": ("delete", 7 * 24 * 3600 * 1000),
    "logs": ("delete", 7 * 24 * 3600 * 1000),
    "scheduler-state": ("compact", None),
    # the KV store: the last record of a key is its value, a tombstone its deletion
    "kv": ("compact", None),
    "flow-trigger-hits": ("delete", 7 * 24 * 3600 * 1000),
    "flow-trigger-state": ("compact", None),
    "executor-changelog": ("compact", None),
    "admissions": ("delete", 7 * 24 * 3600 * 1000),
    "admission-state": ("compact", None),
    "worker-control": ("delete", 24 * 3600 * 1000),
    "dead-letters": ("delete", 30 * 24 * 3600 * 1000),
    "services": ("compact", None),
}


#: how long a consumer's fetch waits on the broker for data (`fetch.wait.max.ms`). Each fetch
#: is a request the broker serves even when idle, and the embedded broker does not answer a
#: waiting fetch when data arrives (ostinato/broker/embedded.py): a record is seen about
#: half this after it is written. So the consumers on the task-to-task path (executor,
#: worker) wait HOT_FETCH_WAIT_MS (and go quiet when idle: ostinato/kafka/idle.py); the
#: followers (tables, the API's view) FOLLOW_FETCH_WAIT_MS; group consumers off the hot path
#: (admissions, the scheduler's) FETCH_WAIT_MS; heartbeats and kills BACKGROUND_FETCH_WAIT_MS.
#: Idle, a consumer costs the broker about 1000 / wait fetches a second.
HOT_FETCH_WAIT_MS = 5
FOLLOW_FETCH_WAIT_MS = 200
FETCH_WAIT_MS = 500
BACKGROUND_FETCH_WAIT_MS = 1000


@dataclass(frozen=True)
class KafkaSettings:
    """How to reach the cluster, and how ostinato names its topics there."""

    bootstrap_servers: str
    topic_prefix: str = "ostinato."
    partitions: int = 4
    replication_factor: int = 1
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    #: extra librdkafka settings (`key=value`), applied last
    extra: dict[str, str] = field(default_factory=dict)
    #: a short session timeout makes group joins and failovers quick (DESIGN.md: Tansu
    #: joins in about half of it); real clusters may prefer librdkafka's 45 s
    session_timeout_ms: int = 6000

    def topic(self, name: str) -> str:
        """The full name of one of ostinato's topics (`executor` -> `ostinato.executor`)."""
        if name not in TOPIC_POLICIES:
            raise KeyError(f"unknown topic `{name}`")
        return self.topic_prefix + name

    def group(self, name: str) -> str:
        """A consumer group id, under the same prefix as the topics (`ostinato.executor`), so
        two deployments with different prefixes on one cluster never share a group."""
        return self.topic_prefix + name

    def client(self, **overrides: Any) -> dict[str, Any]:
        """librdkafka settings common to producers, consumers and admin clients."""
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol:
            config["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password:
            config["sasl.password"] = self.sasl_password
        logger = kafka_logger()  # a service's librdkafka lines in its own log format
        if logger is not None:
            config["logger"] = logger
        config.update(self.extra)
        config.update(overrides)
        return config

    def producer(self, **overrides: Any) -> dict[str, Any]:
        """A producer that sends at once (latency matters more than batching here)."""
        return self.client(**{"linger.ms": 1, "acks": "all", **overrides})

    def consumer(self, group_id: str | None, **overrides: Any) -> dict[str, Any]:
        """A consumer that commits by hand and starts from the beginning of a new group;
        its fetches wait FETCH_WAIT_MS unless `overrides` say otherwise."""
        config: dict[str, Any] = {
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": FETCH_WAIT_MS,
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(self.session_timeout_ms // 6, 200),
            "enable.partition.eof": True,
        }
        if group_id is not None:
            config["group.id"] = group_id
        else:
            config["group.id"] = "ostinato-unused"  # librdkafka requires one even for assign()
        return self.client(**{**config, **overrides})
