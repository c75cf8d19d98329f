"""Options shared by commands; each also reads an `OSTINATO_...` environment variable.

How a command reaches the stack is the same everywhere: through the API at --server
(OSTINATO_SERVER, default http://127.0.0.1:8080, what `ostinato local` serves); through
Kafka only when --bootstrap-servers (OSTINATO_BOOTSTRAP_SERVERS) is given. `ostinato run`
alone starts an embedded stack when given neither.

Heavy modules (Kafka, the codec, the models) are imported inside the functions that need
them, so that every --help stays fast."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

if TYPE_CHECKING:
    from ostinato.cli.api_client import ApiClient
    from ostinato.kafka.config import KafkaSettings
    from ostinato.wire.codec import Codec
    from ostinato.wire.registry import RegistrySettings

#: what `ostinato local` serves
DEFAULT_SERVER = "http://127.0.0.1:8080"


def _env(name: str) -> str:
    return f"OSTINATO_{name}"


def kafka_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--bootstrap-servers and the usual client settings."""
    options = [
        click.option("--bootstrap-servers", envvar=_env("BOOTSTRAP_SERVERS"), show_envvar=True,
                     help="Kafka bootstrap servers (host:port,...)."),
        click.option("--topic-prefix", envvar=_env("TOPIC_PREFIX"), show_envvar=True,
                     default="ostinato.", show_default=True, help="Prefix of every topic name."),
        click.option("--partitions", envvar=_env("PARTITIONS"), show_envvar=True, type=int,
                     default=4, show_default=True,
                     help="Partitions of the keyed topics when ostinato creates them."),
        click.option("--security-protocol", envvar=_env("SECURITY_PROTOCOL"), show_envvar=True,
                     help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."),
        click.option("--sasl-mechanism", envvar=_env("SASL_MECHANISM"), show_envvar=True,
                     help="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 ..."),
        click.option("--sasl-username", envvar=_env("SASL_USERNAME"), show_envvar=True),
        click.option("--sasl-password", envvar=_env("SASL_PASSWORD"), show_envvar=True),
        click.option("--kafka-config", "kafka_config", envvar=_env("KAFKA_CONFIG"), show_envvar=True,
                     multiple=True, metavar="KEY=VALUE",
                     help="Any other librdkafka setting (repeatable)."),
        click.option("--session-timeout-ms", envvar=_env("SESSION_TIMEOUT_MS"), show_envvar=True,
                     type=click.IntRange(min=1), default=None,
                     help="Consumer group session timeout (default: the broker profile's, "
                          "6000 embedded, librdkafka's 45000 on Kafka)."),
        click.option("--broker-profile", envvar=_env("BROKER_PROFILE"), show_envvar=True,
                     type=click.Choice(["kafka", "embedded"]), default="kafka", show_default=True,
                     help="Client defaults for a real Kafka cluster, or for the embedded broker "
                          "(short fetch waits; `ostinato local` uses it)."),
        click.option("--instance-id", envvar=_env("INSTANCE_ID"), show_envvar=True,
                     help="Static group member id of the executor and worker consumers "
                          "(default: the pod name in Kubernetes; empty: none)."),
        click.option("--standalone", envvar=_env("STANDALONE"), show_envvar=True, is_flag=True,
                     help="The only instance of this service: take every partition at once, "
                          "without joining the consumer group (no join to wait for; "
                          "`ostinato run`'s own stack). Never with two instances."),
        click.option("--schema-registry-url", envvar=_env("SCHEMA_REGISTRY_URL"), show_envvar=True,
                     help="Use Confluent's wire format and this schema registry."),
        *registry_options(),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def registry_options() -> list[Any]:
    """The schema registry's settings beside --schema-registry-url (README: Schema registry)."""
    def opt(name: str, help: str, **more: Any) -> Any:
        env = _env(name.split("/")[0].removeprefix("--").replace("-", "_").upper())
        return click.option(name, envvar=env, show_envvar=True, help=help, **more)
    return [
        opt("--schema-registry-ca-location", "CA bundle (file or directory) of the registry's TLS."),
        opt("--schema-registry-certificate-location", "Client certificate (mutual TLS)."),
        opt("--schema-registry-key-location", "Client private key (mutual TLS)."),
        opt("--schema-registry-key-password", "Password of the client key."),
        opt("--schema-registry-username", "Basic authentication user (Confluent Cloud: API key)."),
        opt("--schema-registry-password", "Basic authentication password (API secret)."),
        opt("--schema-registry-bearer-token", "Static bearer token (instead of basic auth)."),
        opt("--schema-registry-logical-cluster", "Bearer auth: the registry's logical cluster "
            "(Confluent Cloud lsrc-...)."),
        opt("--schema-registry-identity-pool-id", "Bearer auth: the identity pool id."),
        opt("--schema-registry-auto-register/--no-schema-registry-auto-register",
            "Register ostinato's schemas; off: they must already be registered.", default=True,
            show_default=True),
        opt("--schema-registry-subject-strategy", "Subject names: topic (<topic>-value), record "
            "(full record name) or topic_record (<topic>-<record>).", default="topic",
            show_default=True, type=click.Choice(["topic", "record", "topic_record"])),
        opt("--schema-registry-config", "Any other schema registry client setting (repeatable).",
            multiple=True, metavar="KEY=VALUE"),
    ]


def logging_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--log-format", envvar=_env("LOG_FORMAT"), show_envvar=True,
                        type=click.Choice(["json", "console"]), default="json", show_default=True,
                        help="JSON lines (deployed) or readable console lines.")(func)
    return click.option("--log-level", envvar=_env("LOG_LEVEL"), show_envvar=True,
                        default="INFO", show_default=True)(func)


def kafka_settings(kwargs: dict[str, Any], *, required: bool = True) -> KafkaSettings | None:
    """Build the settings from the kafka options (popping them from `kwargs`)."""
    from ostinato.kafka.config import KafkaSettings, instance_id_from

    servers = kwargs.pop("bootstrap_servers")
    extra: dict[str, str] = {}
    for item in kwargs.pop("kafka_config"):
        if "=" not in item:
            raise click.BadParameter(f"`{item}` is not KEY=VALUE", param_hint="--kafka-config")
        key, value = item.split("=", 1)
        extra[key] = value
    kwargs["registry_topic_prefix"] = kwargs["topic_prefix"]  # subjects name topics (codec_of)
    settings = dict(
        topic_prefix=kwargs.pop("topic_prefix"), partitions=kwargs.pop("partitions"),
        security_protocol=kwargs.pop("security_protocol"), sasl_mechanism=kwargs.pop("sasl_mechanism"),
        sasl_username=kwargs.pop("sasl_username"), sasl_password=kwargs.pop("sasl_password"),
        session_timeout_ms=kwargs.pop("session_timeout_ms"), extra=extra,
        broker_profile=kwargs.pop("broker_profile"),
        instance_id=instance_id_from(kwargs.pop("instance_id")),
        standalone=kwargs.pop("standalone"))
    if not servers:
        if required:
            raise click.UsageError("--bootstrap-servers (or OSTINATO_BOOTSTRAP_SERVERS) is required")
        return None
    try:
        return KafkaSettings(bootstrap_servers=servers, **settings)  # type: ignore[arg-type]
    except ValueError as error:
        raise click.UsageError(str(error)) from error


def codec_of(kwargs: dict[str, Any]) -> Codec:
    """The codec of the registry options (popping them): a registry codec whose subjects are
    registered or checked now, so that a wrong setting stops the command at once."""
    from ostinato.wire.codec import WireError, codec_for

    try:
        return codec_for(registry_settings(kwargs))
    except WireError as error:
        raise click.ClickException(str(error)) from error


def registry_settings(kwargs: dict[str, Any]) -> RegistrySettings | None:
    """RegistrySettings from the registry options (popped), or None without a URL."""
    from ostinato.wire.registry import RegistryConfigError, RegistrySettings

    prefix = kwargs.pop("registry_topic_prefix", None) or "ostinato."
    given = {key.removeprefix("schema_registry_"): kwargs.pop(key)
             for key in [k for k in kwargs if k.startswith("schema_registry_")]}
    url = given.pop("url", None)
    # the client wants numbers for timeout, max.retries, cache.capacity ...
    extra = {key: _number_or_text(value) for key, value in
             _key_values(given.pop("config", ()), "--schema-registry-config").items()}
    auto_register, strategy = given.pop("auto_register", True), given.pop("subject_strategy", "topic")
    if not url:
        named = [f"--schema-registry-{k.replace('_', '-')}" for k, v in given.items() if v]
        if named or extra:
            raise click.UsageError(f"{', '.join(named) or '--schema-registry-config'} needs "
                                   "--schema-registry-url (or OSTINATO_SCHEMA_REGISTRY_URL)")
        return None
    try:
        return RegistrySettings(url=url, auto_register=auto_register, subject_strategy=strategy,
                                topic_prefix=prefix,
                                extra=extra, **given)
    except RegistryConfigError as error:
        raise click.UsageError(str(error)) from error


def _number_or_text(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _key_values(items: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"`{item}` is not KEY=VALUE", param_hint=option)
        key, value = item.split("=", 1)
        out[key] = value
    return out


def setup_logging(service: str, kwargs: dict[str, Any]) -> None:
    from ostinato.logging import configure_logging

    configure_logging(service=service, json_lines=kwargs.pop("log_format") == "json",
                      level=kwargs.pop("log_level"))


def data_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--data-dir", envvar=_env("DATA_DIR"), show_envvar=True,
                        type=click.Path(path_type=Path), default=Path("./ostinato-data"),
                        show_default=True, help="Where the service keeps its local state.")(func)


def storage_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--storage URI and --storage-dir: where the internal storage is (`storage_location`)."""
    func = click.option("--storage", "storage_uri", envvar=_env("STORAGE"), show_envvar=True,
                        default=None, metavar="URI",
                        help="Internal storage (kestra:// files) as a URI: s3://bucket/prefix "
                             "(settings: README's Internal storage), file:///dir or a "
                             "directory. Wins over --storage-dir.")(func)
    return click.option("--storage-dir", envvar=_env("STORAGE_DIR"), show_envvar=True,
                        type=click.Path(path_type=Path), default=None,
                        help="Internal storage in a local directory; default DATA_DIR/storage.")(func)


def storage_location(kwargs: dict[str, Any]) -> str | Path:
    """Where the internal storage is: --storage (checked now, before anything starts), else
    --storage-dir, else DATA_DIR/storage."""
    from ostinato.storage.locations import BadStorageLocation, check_location

    uri = kwargs.pop("storage_uri", None)
    directory = kwargs.pop("storage_dir", None)
    if uri:
        try:
            check_location(str(uri))
        except BadStorageLocation as error:
            raise click.BadParameter(str(error), param_hint="--storage") from None
        return str(uri)
    return Path(directory) if directory else Path(kwargs["data_dir"]) / "storage"


def context_limit_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--context-limit", envvar=_env("CONTEXT_LIMIT"), show_envvar=True,
                        type=int, default=1 << 20, show_default=True,
                        help="Largest serialized execution, in bytes.")(func)


def management_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--management-port", envvar=_env("MANAGEMENT_PORT"), show_envvar=True,
                        type=int, default=8081, show_default=True,
                        help="Port of /health, /ready and /metrics (0: a free port).")(func)


def wraps_kwargs(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        return func(kwargs)
    return wrapper


def api_options(*, server_required: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--server, --tenant, --user, --password: where the REST API is and how to log in.
    --server reads OSTINATO_SERVER everywhere. With `server_required=False` (commands that
    can also use Kafka) it shows no default: `api_client_of` picks DEFAULT_SERVER unless
    --bootstrap-servers is given (`run` starts an embedded stack instead)."""
    server = click.option("--server", envvar=_env("SERVER"), show_envvar=True,
                          default=DEFAULT_SERVER if server_required else None,
                          show_default=server_required, metavar="URL",
                          help="URL of the ostinato API" + ("." if server_required else
                               f" (default {DEFAULT_SERVER} unless --bootstrap-servers)."))
    options = [
        server,
        click.option("--tenant", envvar=_env("TENANT"), show_envvar=True, default="main",
                     show_default=True, help="Tenant in the API's paths."),
        click.option("--user", envvar=_env("API_USER"), show_envvar=True, default=None,
                     help="User for the API's HTTP basic authentication."),
        click.option("--password", envvar=_env("API_PASSWORD"), show_envvar=True, default=None,
                     help="Password for the API's HTTP basic authentication."),
    ]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


def api_client_of(kwargs: dict[str, Any], *, default_server: bool = False) -> ApiClient | None:
    """The API client from the api options (popping them from `kwargs`). Without --server:
    None when --bootstrap-servers is given (the command uses Kafka) or `default_server` is
    False; else a client of DEFAULT_SERVER."""
    from ostinato.cli.api_client import ApiClient

    server, tenant = kwargs.pop("server"), kwargs.pop("tenant")
    user, password = kwargs.pop("user"), kwargs.pop("password")
    if not server:
        if not default_server or kwargs.get("bootstrap_servers"):
            return None
        server = DEFAULT_SERVER
    if password is not None and user is None:
        raise click.UsageError("--password needs --user (or OSTINATO_API_USER)")
    auth = (user, password or "") if user is not None else None
    return ApiClient(server, tenant=tenant, auth=auth)
