"""Kafka client settings and ostinato's topic names.

Every setting also comes from the environment (`OSTINATO_...`), so a deployment sets
them without flags. Nothing here assumes the embedded broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
        config.update(self.extra)
        config.update(overrides)
        return config

    def producer(self, **overrides: Any) -> dict[str, Any]:
        """A producer that sends at once (latency matters more than batching here)."""
        return self.client(**{"linger.ms": 1, "acks": "all", **overrides})

    def consumer(self, group_id: str | None, **overrides: Any) -> dict[str, Any]:
        """A consumer that commits by hand and starts from the beginning of a new group."""
        config: dict[str, Any] = {
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 5,
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(self.session_timeout_ms // 6, 200),
            "enable.partition.eof": True,
        }
        if group_id is not None:
            config["group.id"] = group_id
        else:
            config["group.id"] = "ostinato-unused"  # librdkafka requires one even for assign()
        return self.client(**{**config, **overrides})
