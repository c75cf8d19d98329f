"""Kafka client settings and ostinato's topic names.

Every setting also comes from the environment (`OSTINATO_...`), so a deployment sets
them without flags. What ostinato sets on its clients is a default, in three layers, each
overriding the one before: the built-in settings of a client's role, those of the broker
profile (`embedded`: the Tansu broker of `ostinato local` and the tests, which needs short
fetch waits; `kafka`: a real cluster, where librdkafka's own defaults are right), then the
user's `--kafka-config` (`extra`). Only the settings ostinato's correctness rests on
(PROTECTED) cannot be changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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


#: how long a consumer's fetch waits on the broker for data (`fetch.wait.max.ms`), under the
#: embedded profile. Each fetch is a request the broker serves even when idle, and the
#: embedded broker does not answer a waiting fetch when data arrives
#: (ostinato/broker/embedded.py): a record is seen about half this after it is written. So
#: the consumers on the task-to-task path (executor, worker: role "hot") wait
#: HOT_FETCH_WAIT_MS (and go quiet when idle: ostinato/kafka/idle.py); the followers
#: (tables, the API's view: "follow") FOLLOW_FETCH_WAIT_MS; group consumers off the hot path
#: (admissions, the scheduler's: "default") FETCH_WAIT_MS; heartbeats and kills
#: ("background") BACKGROUND_FETCH_WAIT_MS. Idle, a consumer costs the broker about
#: 1000 / wait fetches a second. A real cluster answers a waiting fetch as soon as data
#: arrives, so there librdkafka's default (500 ms) costs no latency.
HOT_FETCH_WAIT_MS = 5
FOLLOW_FETCH_WAIT_MS = 200
FETCH_WAIT_MS = 500
BACKGROUND_FETCH_WAIT_MS = 1000

Role = Literal["hot", "follow", "default", "background"]
BrokerProfile = Literal["embedded", "kafka"]
ROLES: tuple[Role, ...] = ("hot", "follow", "default", "background")
PROFILES: tuple[BrokerProfile, ...] = ("embedded", "kafka")

#: consumer settings by profile and role (under "kafka" none: librdkafka's defaults)
_CONSUMER_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "embedded": {"hot": {"fetch.wait.max.ms": HOT_FETCH_WAIT_MS},
                 "follow": {"fetch.wait.max.ms": FOLLOW_FETCH_WAIT_MS},
                 "default": {"fetch.wait.max.ms": FETCH_WAIT_MS},
                 "background": {"fetch.wait.max.ms": BACKGROUND_FETCH_WAIT_MS}},
    "kafka": {role: {} for role in ROLES},
}
#: producer settings by profile: on the embedded broker a record goes at once (linger 0: a
#: millisecond of linger cost 0.6-1.5 ms a hop there, about 1 ms of each task-to-task step,
#: bench/README.md; what queues while a request is in flight still goes in one batch);
#: a real cluster keeps librdkafka's 5 ms, which batches better at the same latency
_PRODUCER_PROFILES: dict[str, dict[str, Any]] = {"embedded": {"linger.ms": 0}, "kafka": {}}
#: the embedded broker joins a group in about half the session timeout (DESIGN.md), so it is
#: short there; a real cluster keeps librdkafka's 45 s (a pod restart within it does not
#: rebalance a static member)
EMBEDDED_SESSION_TIMEOUT_MS = 6000
#: every group consumer: a rebalance moves only the partitions that must move, so the
#: members that stay keep theirs (and their restored state) while another joins or leaves
ASSIGNMENT_STRATEGY = "cooperative-sticky"
#: what `extra` may not change: ostinato commits by hand, a new group starts at the
#: beginning, followers need the end-of-partition event, and ids are set per consumer
PROTECTED = {
    "group.id": "consumer groups are named by ostinato (use --topic-prefix)",
    "group.instance.id": "it is set per consumer from --instance-id (OSTINATO_INSTANCE_ID)",
    "enable.auto.commit": "ostinato commits offsets itself, after the effects are written",
    "auto.offset.reset": "a new consumer group must read from the beginning",
    "enable.partition.eof": "followers rely on the end-of-partition event",
}


def instance_id_from(given: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The static group member id of this process: `given` (--instance-id), else
    $OSTINATO_INSTANCE_ID, else in Kubernetes ($KUBERNETES_SERVICE_HOST set) the pod name
    ($HOSTNAME). Empty means none; never a random value (a new id each start would defeat
    static membership and leave the old member in the group until its session expires)."""
    if given is None:
        given = environ.get("OSTINATO_INSTANCE_ID")
    if given is None and environ.get("KUBERNETES_SERVICE_HOST"):
        given = environ.get("HOSTNAME")
    if given is None:
        return None
    return given.strip() or None


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
    #: extra librdkafka settings (`key=value`, --kafka-config), applied last
    extra: dict[str, str] = field(default_factory=dict)
    #: None: the profile's (embedded: EMBEDDED_SESSION_TIMEOUT_MS; kafka: librdkafka's 45 s)
    session_timeout_ms: int | None = None
    #: which broker the defaults are tuned for (module doc)
    broker_profile: BrokerProfile = "kafka"
    #: the static member id (`group.instance.id`) of the executor's and the worker's
    #: consumers (instance_id_from); not used under the embedded profile, whose broker
    #: handles static members badly (README: Kafka settings)
    instance_id: str | None = None
    #: each group consumer takes every partition of its topic without joining its group
    #: (membership.py): for a stack where each service runs once, as `ostinato run`'s own,
    #: which then does not wait for group joins; never with two instances of a service
    standalone: bool = False

    def __post_init__(self) -> None:
        if self.broker_profile not in PROFILES:
            raise ValueError(f"unknown broker profile `{self.broker_profile}`: expected one "
                             f"of {', '.join(PROFILES)}")
        for key in self.extra:
            if key in PROTECTED:
                raise ValueError(f"--kafka-config {key}: cannot be changed ({PROTECTED[key]})")
        session = self.extra.get("session.timeout.ms")
        if session is not None and not str(session).isdigit():
            raise ValueError(f"--kafka-config session.timeout.ms={session}: not a number of ms")

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
        config.update(overrides)
        config.update(self.extra)  # last: the user's settings win over every default
        return config

    def producer(self, **overrides: Any) -> dict[str, Any]:
        """A producer that waits for every in-sync replica, tuned for the broker profile."""
        return self.client(**{"acks": "all", **_PRODUCER_PROFILES[self.broker_profile],
                              **overrides})

    def consumer(self, group_id: str | None, role: Role = "default", /, *, static: bool = False,
                 **overrides: Any) -> dict[str, Any]:
        """A consumer that commits by hand and starts from the beginning of a new group,
        with the defaults of `role` under the broker profile. A group consumer uses the
        cooperative-sticky assignor; `static` (the executor's and the worker's) makes it a
        static member named `instance_id` (kafka profile only)."""
        if role not in ROLES:
            raise ValueError(f"unknown consumer role `{role}`: expected one of {', '.join(ROLES)}")
        config: dict[str, Any] = {
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
            **_CONSUMER_PROFILES[self.broker_profile][role],
            **self._session(),
            # librdkafka requires a group id even for assign()
            "group.id": group_id if group_id is not None else "ostinato-unused",
        }
        if group_id is not None:
            config["partition.assignment.strategy"] = ASSIGNMENT_STRATEGY
            if static and self.instance_id and self.broker_profile != "embedded":
                config["group.instance.id"] = self.instance_id
        return self.client(**{**config, **overrides})

    def _session(self) -> dict[str, Any]:
        """session.timeout.ms and a heartbeat a sixth of it, when ostinato sets one (the
        heartbeat follows a session timeout given in `extra` too)."""
        session: Any = self.extra.get("session.timeout.ms", self.session_timeout_ms)
        if session is None and self.broker_profile == "embedded":
            session = EMBEDDED_SESSION_TIMEOUT_MS
        if session is None:
            return {}
        return {"session.timeout.ms": int(session),
                "heartbeat.interval.ms": max(int(session) // 6, 200)}
