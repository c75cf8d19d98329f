"""Schema registry settings: what reaches confluent-kafka's client, what is refused, and how
the CLI options and OSTINATO_SCHEMA_REGISTRY_* variables build them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

pytest.importorskip("confluent_kafka.schema_registry.avro")

from ostinato.cli.options import kafka_options, kafka_settings, registry_settings, wraps_kwargs  # noqa: E402
from ostinato.wire import RegistryCodec, RegistryConfigError, RegistrySettings  # noqa: E402

URL = "https://registry.example:8081"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed CA (also used as the client certificate) and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "ca.pem", folder / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=ostinato-test-ca", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    other = folder / "other.key"
    subprocess.run(["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True)
    return {"cert": cert, "key": key, "other_key": other}


def rest_client(settings: RegistrySettings) -> Any:
    """The HTTP client the codec's registry client talks through."""
    return RegistryCodec(settings).client._rest_client


def test_basic_credentials_reach_the_client() -> None:
    settings = RegistrySettings(URL, username="key", password="se:cret")
    assert settings.client_conf() == {"url": URL, "basic.auth.user.info": "key:se:cret"}
    assert rest_client(settings).auth == ("key", "se:cret")


def test_bearer_token_reaches_the_client() -> None:
    settings = RegistrySettings(URL, bearer_token="tok", logical_cluster="lsrc-1",
                                identity_pool_id="pool-9")
    client = rest_client(settings)
    assert client.bearer_auth_credentials_source == "STATIC_TOKEN"
    assert client.bearer_field_provider.get_bearer_fields() == {
        "bearer.auth.token": "tok", "bearer.auth.logical.cluster": "lsrc-1",
        "bearer.auth.identity.pool.id": "pool-9"}
    # a registry other than Confluent Cloud needs no logical cluster
    fields = rest_client(RegistrySettings(URL, bearer_token="tok")).bearer_field_provider.get_bearer_fields()
    assert fields["bearer.auth.token"] == "tok" and client.auth is None


def test_ca_bundle_and_client_certificate_reach_the_client(tls: dict[str, Path]) -> None:
    settings = RegistrySettings(URL, ca_location=str(tls["cert"]),
                                certificate_location=str(tls["cert"]), key_location=str(tls["key"]))
    conf = settings.client_conf()
    assert conf["ssl.ca.location"] == str(tls["cert"])
    assert conf["ssl.certificate.location"] == str(tls["cert"])
    assert conf["ssl.key.location"] == str(tls["key"])
    context = rest_client(settings).verify
    issuers = [dict(pair[0] for pair in ca["subject"]) for ca in context.get_ca_certs()]
    assert issuers == [{"commonName": "ostinato-test-ca"}]  # our CA alone, not the system's
    with pytest.raises(RegistryConfigError, match="schema registry settings: .*"):
        rest_client(RegistrySettings(URL, certificate_location=str(tls["cert"]),
                                     key_location=str(tls["other_key"])))


def test_settings_that_cannot_work_are_refused(tls: dict[str, Path]) -> None:
    refused: dict[str, dict[str, Any]] = {
        "a username and password or a bearer token, not both":
            dict(username="u", password="p", bearer_token="t"),
        "a username needs a password": dict(username="u"),
        "cannot contain `:`": dict(username="a:b", password="p"),
        "needs a bearer token": dict(logical_cluster="lsrc-1"),
        "a client key needs its certificate": dict(key_location=str(tls["key"])),
        "unknown subject strategy `topicname`": dict(subject_strategy="topicname"),
    }
    for message, settings in refused.items():
        with pytest.raises(RegistryConfigError, match=message):
            RegistrySettings(URL, **settings)
    with pytest.raises(RegistryConfigError, match="the CA bundle `/nowhere/ca.pem` does not exist"):
        RegistryCodec(RegistrySettings(URL, ca_location="/nowhere/ca.pem"))
    with pytest.raises(RegistryConfigError, match="Unrecognized properties: nope"):
        RegistryCodec(RegistrySettings(URL, extra={"nope": "1"}))


# ---------------------------------------------------------------- the CLI's options

@click.command()
@kafka_options
@wraps_kwargs
def show(kwargs: dict[str, Any]) -> None:
    kafka_settings(kwargs, required=False)
    click.echo(repr(registry_settings(kwargs)))
    assert not [key for key in kwargs if "registry" in key], "registry options left behind"


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(show, list(args), env=env)


def test_cli_options_and_environment_build_the_settings(tls: dict[str, Path]) -> None:
    result = run("--schema-registry-url", URL, "--topic-prefix", "prod.",
                 "--schema-registry-username", "key", "--schema-registry-ca-location", str(tls["cert"]),
                 "--no-schema-registry-auto-register",
                 "--schema-registry-subject-strategy", "topic_record",
                 "--schema-registry-config", "timeout=5",
                 OSTINATO_SCHEMA_REGISTRY_PASSWORD="secret")
    assert result.exit_code == 0, result.output
    expected = RegistrySettings(URL, username="key", password="secret", ca_location=str(tls["cert"]),
                                auto_register=False, subject_strategy="topic_record",
                                topic_prefix="prod.", extra={"timeout": 5})
    assert result.output.strip() == repr(expected)
    result = run(OSTINATO_SCHEMA_REGISTRY_URL=URL, OSTINATO_SCHEMA_REGISTRY_AUTO_REGISTER="false",
                 OSTINATO_SCHEMA_REGISTRY_BEARER_TOKEN="tok")
    assert result.output.strip() == repr(RegistrySettings(URL, bearer_token="tok", auto_register=False))
    assert run().output.strip() == "None"  # no registry: the fingerprint codec


def test_cli_refuses_registry_settings_without_url_or_that_conflict() -> None:
    result = run("--schema-registry-username", "key")
    assert result.exit_code == 2
    assert "--schema-registry-username needs --schema-registry-url" in result.output
    result = run("--schema-registry-url", URL, "--schema-registry-bearer-token", "t",
                 "--schema-registry-username", "u", "--schema-registry-password", "p")
    assert result.exit_code == 2 and "not both" in result.output
    result = run("--schema-registry-url", URL, "--schema-registry-subject-strategy", "topicname")
    assert result.exit_code == 2 and "topicname" in result.output
    result = run("--schema-registry-url", URL, "--schema-registry-config", "timeout")
    assert result.exit_code == 2 and "`timeout` is not KEY=VALUE" in result.output


# ---------------------------------------------------------------- python -m ostinato.wire

def test_subjects_and_register_commands() -> None:
    from ostinato.wire.registry_cli import main

    listed = CliRunner().invoke(main, ["subjects", "--topic-prefix", "prod."])
    assert listed.exit_code == 0, listed.output
    lines = [line.split("\t") for line in listed.output.splitlines()]
    assert ["prod.execution-results-value", "io.ostinato.v1.Execution"] in lines
    assert ["prod.executions-io.ostinato.v1.Execution", "io.ostinato.v1.Execution"] in lines
    registered = CliRunner().invoke(main, ["register", "--topic-prefix", "prod.",
                                           "--schema-registry-url", "mock://register-test",
                                           "--no-schema-registry-auto-register"])
    assert registered.exit_code == 0, registered.output
    ids = [line.split("\t") for line in registered.output.splitlines()]
    assert [subject for subject, _ in ids] == [subject for subject, _ in lines]
    assert all(int(schema_id) > 0 for _, schema_id in ids)
    failed = CliRunner().invoke(main, ["register", "--schema-registry-url", "http://127.0.0.1:9",
                                       "--schema-registry-config", "timeout=1",
                                       "--schema-registry-config", "max.retries=0"])
    assert failed.exit_code == 1
    assert "http://127.0.0.1:9 failed registering the schema of AdmissionState" in failed.output
    missing = CliRunner().invoke(main, ["register"])
    assert missing.exit_code == 2 and "--schema-registry-url" in missing.output


def test_a_service_with_a_registry_it_cannot_use_stops_at_start(tmp_path: Path) -> None:
    from ostinato.cli import main

    common = ["executor", "--bootstrap-servers", "127.0.0.1:1", "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*common, "--schema-registry-url", "http://127.0.0.1:9",
                                       "--schema-registry-config", "timeout=1",
                                       "--schema-registry-config", "max.retries=0"])
    assert result.exit_code == 1
    assert "schema registry at http://127.0.0.1:9 failed registering the schema" in result.output
    result = CliRunner().invoke(main, [*common, "--schema-registry-url", URL,
                                       "--schema-registry-ca-location", str(tmp_path / "ca.pem")])
    assert result.exit_code == 1
    assert f"the CA bundle `{tmp_path / 'ca.pem'}` does not exist" in result.output
