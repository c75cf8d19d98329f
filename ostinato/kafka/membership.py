"""How a service's consumer gets its partitions: as a member of its consumer group, or,
for a stack where each service runs once (`KafkaSettings.standalone`: `ostinato run`'s
own), by taking every partition at once.

A group join costs about half the session timeout on the embedded broker (2-3 s of every
`ostinato run`); taking the partitions costs one metadata request. Offsets are still the
group's: read from its committed offsets, committed as usual (a broker accepts commits of
a consumer that assigned its partitions itself). Two standalone instances of one service
would both take every partition: that is why it is only for a stack that starts each
service once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_STORED, Consumer, TopicPartition

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.follower import partitions_of
from ostinato.metrics.lag import GroupConsumer

Rebalance = Callable[[Any, list[TopicPartition]], None]


def join(consumer: Consumer, settings: KafkaSettings, topic: str, *,
         on_assign: Rebalance, on_revoke: Rebalance) -> None:
    """Subscribe `consumer` to ostinato's `topic` in its group; standalone, assign it every
    partition of the topic from the group's committed offsets (`on_assign` first, as a
    rebalance would call it)."""
    full_name = settings.topic(topic)
    if not settings.standalone:
        consumer.subscribe([full_name], on_assign=on_assign, on_revoke=on_revoke,
                           on_lost=on_revoke)
        return
    partitions = [TopicPartition(full_name, number, OFFSET_STORED)
                  for number in partitions_of(settings, topic)]
    if isinstance(consumer, GroupConsumer):
        consumer.note_assigned(partitions)
    on_assign(consumer, partitions)
    consumer.assign(partitions)
