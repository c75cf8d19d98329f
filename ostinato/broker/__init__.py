"""Kafka plumbing shared by the services: the embedded broker and topic setup.

- `EmbeddedBroker`: a Tansu process on a loopback port (`ostinato local`, `ostinato run`,
  tests); `free_port()`.
- `ensure_topics(bootstrap_servers, [TopicSpec(...)])`: create what is missing, race-safe.
- `ostinato.broker.testing.broker_for_tests()`: one broker per test session.

What the embedded broker does and does not do (transactions, watermarks, partition EOF,
group join time) is measured by `bench/broker_probe.py`; the findings are in the
docstrings of `embedded` and `admin`.
"""

from ostinato.broker.admin import TopicSetupError, TopicSpec, ensure_topics
from ostinato.broker.embedded import BrokerStartError, EmbeddedBroker, free_port

__all__ = [
    "BrokerStartError",
    "EmbeddedBroker",
    "TopicSetupError",
    "TopicSpec",
    "ensure_topics",
    "free_port",
]
