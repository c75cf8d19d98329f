"""What a flow may read of a service's environment: `secret()` only SECRET_<NAME> (base64,
Kestra's open-source convention), `envs` only KESTRA_<NAME>; never OSTINATO_* (the services'
own settings, the Kafka password among them) nor anything else."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from ostinato.cli.services import _secrets, _with_password_file
from ostinato.decider.context import envs_from
from ostinato.kafka.config import KafkaSettings

ENVIRON = {
    "SECRET_API_TOKEN": base64.b64encode(b"t0ken").decode(),
    "KESTRA_REGION": "eu",
    "OSTINATO_SASL_PASSWORD": "kafka-password",
    "OSTINATO_API_PASSWORD": "api-password",
    "HOME": "/root",
}


def test_secrets_are_only_the_secret_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in ENVIRON.items():
        monkeypatch.setenv(key, value)
    assert _secrets() == {"API_TOKEN": "t0ken"}
    assert envs_from(ENVIRON) == {"region": "eu"}


def test_the_sasl_password_comes_from_its_file_and_leaves_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "sasl-password"
    secret_file.write_text("from-the-file\n")
    monkeypatch.setenv("OSTINATO_SASL_PASSWORD", "from-the-env")
    monkeypatch.setenv("OSTINATO_SASL_PASSWORD_FILE", str(secret_file))
    kafka = _with_password_file(KafkaSettings(bootstrap_servers="b:9092", sasl_password="from-the-env"))
    assert kafka.sasl_password == "from-the-file"
    assert "OSTINATO_SASL_PASSWORD" not in os.environ
