"""Kafka client settings: built-in role defaults < broker profile < the user's --kafka-config,
static membership only where it is asked for and the broker handles it."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from ostinato.cli import main
from ostinato.kafka.config import (
    BACKGROUND_FETCH_WAIT_MS,
    FETCH_WAIT_MS,
    FOLLOW_FETCH_WAIT_MS,
    HOT_FETCH_WAIT_MS,
    ROLES,
    KafkaSettings,
    instance_id_from,
)

EMBEDDED_WAITS = {"hot": HOT_FETCH_WAIT_MS, "follow": FOLLOW_FETCH_WAIT_MS,
                  "default": FETCH_WAIT_MS, "background": BACKGROUND_FETCH_WAIT_MS}


def settings(**given: object) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers="kafka:9092", **given)  # type: ignore[arg-type]


def test_the_embedded_profile_sets_each_roles_fetch_wait_and_a_short_session() -> None:
    embedded = settings(broker_profile="embedded")
    for role in ROLES:
        config = embedded.consumer("g", role)
        assert config["fetch.wait.max.ms"] == EMBEDDED_WAITS[role]
        assert config["session.timeout.ms"] == 6000
        assert config["heartbeat.interval.ms"] == 1000
    assert embedded.producer()["linger.ms"] == 0


def test_the_kafka_profile_leaves_librdkafkas_defaults() -> None:
    kafka = settings()
    assert kafka.broker_profile == "kafka"
    for role in ROLES:
        config = kafka.consumer("g", role)
        assert "fetch.wait.max.ms" not in config
        assert "session.timeout.ms" not in config and "heartbeat.interval.ms" not in config
    assert "linger.ms" not in kafka.producer()
    assert kafka.producer()["acks"] == "all"


@pytest.mark.parametrize("profile", ["embedded", "kafka"])
def test_the_users_settings_win_over_every_default(profile: str) -> None:
    tuned = settings(broker_profile=profile, session_timeout_ms=9000, extra={
        "fetch.wait.max.ms": "250", "linger.ms": "20", "session.timeout.ms": "30000",
        "partition.assignment.strategy": "range"})
    for role in ROLES:
        config = tuned.consumer("g", role)
        assert config["fetch.wait.max.ms"] == "250"
        assert config["partition.assignment.strategy"] == "range"
        assert config["session.timeout.ms"] == "30000"
        assert config["heartbeat.interval.ms"] == 5000, "follows the session timeout given"
    # a call site's own setting is a default too (the keeper's follower, a producer's size)
    call_site: dict[str, Any] = {"fetch.wait.max.ms": 50, "linger.ms": 5}
    assert tuned.consumer(None, "follow", **call_site)["fetch.wait.max.ms"] == "250"
    assert tuned.producer(**call_site)["linger.ms"] == "20"


def test_an_explicit_session_timeout_wins_over_the_profile() -> None:
    for profile in ("embedded", "kafka"):
        config = settings(broker_profile=profile, session_timeout_ms=3000).consumer("g")
        assert (config["session.timeout.ms"], config["heartbeat.interval.ms"]) == (3000, 500)


def test_group_consumers_use_the_cooperative_assignor_and_followers_no_group() -> None:
    for profile in ("embedded", "kafka"):
        group = settings(broker_profile=profile).consumer("ostinato.executor", "hot")
        assert group["partition.assignment.strategy"] == "cooperative-sticky"
        assert group["enable.auto.commit"] is False
        follower = settings(broker_profile=profile).consumer(None, "follow")
        assert "partition.assignment.strategy" not in follower
        assert follower["enable.partition.eof"] is True


def test_static_membership_only_for_static_consumers_on_kafka() -> None:
    kafka = settings(instance_id="executor-0")
    assert kafka.consumer("g", "hot", static=True)["group.instance.id"] == "executor-0"
    assert "group.instance.id" not in kafka.consumer("g", "default")
    assert "group.instance.id" not in kafka.consumer(None, "follow", static=True)
    assert "group.instance.id" not in settings().consumer("g", "hot", static=True)
    # the embedded broker (Tansu) handles static members badly: README, Kafka settings
    embedded = settings(instance_id="executor-0", broker_profile="embedded")
    assert "group.instance.id" not in embedded.consumer("g", "hot", static=True)


def test_the_instance_id_comes_from_the_option_the_environment_or_the_pod_name() -> None:
    pod = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "HOSTNAME": "ostinato-executor-1"}
    assert instance_id_from("given", pod) == "given"
    assert instance_id_from(None, {**pod, "OSTINATO_INSTANCE_ID": "from-env"}) == "from-env"
    assert instance_id_from(None, pod) == "ostinato-executor-1"
    assert instance_id_from(None, {"HOSTNAME": "laptop"}) is None, "not in Kubernetes"
    assert instance_id_from(None, {**pod, "OSTINATO_INSTANCE_ID": ""}) is None, "turned off"
    assert instance_id_from("", pod) is None


def test_bad_settings_are_refused_with_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="enable.auto.commit: cannot be changed"):
        settings(extra={"enable.auto.commit": "true"})
    with pytest.raises(ValueError, match="group.instance.id.*--instance-id"):
        settings(extra={"group.instance.id": "x"})
    with pytest.raises(ValueError, match="unknown broker profile `tansu`"):
        settings(broker_profile="tansu")
    with pytest.raises(ValueError, match="session.timeout.ms=soon"):
        settings(extra={"session.timeout.ms": "soon"})
    with pytest.raises(ValueError, match="unknown consumer role `warm`"):
        settings().consumer("g", "warm")  # type: ignore[arg-type]


def test_the_cli_reads_the_profile_and_refuses_a_protected_setting() -> None:
    result = CliRunner().invoke(main, ["executor", "--bootstrap-servers", "127.0.0.1:1",
                                       "--kafka-config", "group.id=mine"])
    assert result.exit_code == 2, result.output
    assert "--kafka-config group.id: cannot be changed" in result.output
    result = CliRunner().invoke(main, ["executor", "--broker-profile", "tansu"])
    assert result.exit_code == 2 and "tansu" in result.output
    assert "OSTINATO_BROKER_PROFILE" in CliRunner().invoke(main, ["executor", "--help"]).output
