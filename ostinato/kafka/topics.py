"""Creating ostinato's topics with the partitions and policies of DESIGN.md's table."""

from __future__ import annotations

from collections.abc import Iterable

from ostinato.broker.admin import TopicSpec, ensure_topics
from ostinato.kafka.config import TOPIC_POLICIES, KafkaSettings

#: topics read whole by one reader (or one owner), so one partition
_ONE_PARTITION = {"flows", "services", "scheduler-state", "flow-trigger-state", "flow-trigger-hits",
                  "kv",
                  "admissions",
                  "admission-state",
                  "worker-control"}


def topic_specs(settings: KafkaSettings, names: Iterable[str] | None = None) -> list[TopicSpec]:
    specs = []
    for name in names or TOPIC_POLICIES:
        policy, retention = TOPIC_POLICIES[name]
        partitions = 1 if name in _ONE_PARTITION else settings.partitions
        specs.append(TopicSpec(settings.topic(name), partitions, policy == "compact", retention))
    return specs


def ensure_all_topics(settings: KafkaSettings, *, timeout: float = 30.0) -> None:
    """Create every topic ostinato uses that is missing (safe when several services race)."""
    ensure_topics(settings.bootstrap_servers, topic_specs(settings),
                  client_config=settings.client(), timeout=timeout)
