"""Which partition a key goes to, as the Kafka client decides it.

librdkafka's default partitioner (`consistent_random`) sends a keyed record to partition
CRC-32(key) mod the partition count. A writer that must put records with other keys in the
same partition as a given key (the parts of a large execution on `executions`, which must
stay in order with the execution's own records) computes that partition here.
"""

from __future__ import annotations

import zlib


def key_partition(key: str, partition_count: int) -> int:
    """The partition librdkafka's default partitioner gives `key` among `partition_count`."""
    if partition_count < 1:
        raise ValueError(f"a topic has at least one partition, not {partition_count}")
    return zlib.crc32(key.encode()) % partition_count
