"""`ostinato executor|worker|scheduler|api`: one service process, for deployment."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from ostinato.cli.options import (
    codec_of, context_limit_option, data_dir_option, kafka_options, kafka_settings,
    logging_options, management_option, setup_logging, storage_dir_option, storage_location,
    wraps_kwargs,
)
from ostinato.decider import Settings
from ostinato.decider.context import envs_from
from ostinato.flow.durations import InvalidDuration, parse_duration
from ostinato.kafka.config import KafkaSettings


#: a file holding the Kafka SASL password (a mounted Secret): read at start, so that the
#: password is in no environment a process started by the service could read
SASL_PASSWORD_FILE = "OSTINATO_SASL_PASSWORD_FILE"


def _service_settings(name: str, kwargs: dict[str, Any]) -> KafkaSettings:
    """Logging set up for the service, and its Kafka settings (required), the SASL password
    read from OSTINATO_SASL_PASSWORD_FILE when that is set."""
    setup_logging(name, kwargs)
    kafka = kafka_settings(kwargs)
    assert kafka is not None  # required=True raised a usage error otherwise
    return _with_password_file(kafka)


def _with_password_file(kafka: KafkaSettings) -> KafkaSettings:
    """`kafka` with the password of OSTINATO_SASL_PASSWORD_FILE. The variable holding a
    password directly is dropped from os.environ too, so no child inherits it (that does
    not clear /proc/<pid>/environ: the file is the way to keep it out of reach)."""
    os.environ.pop("OSTINATO_SASL_PASSWORD", None)
    path = os.environ.get(SASL_PASSWORD_FILE)
    if not path:
        return kafka
    try:
        password = Path(path).read_text().strip()
    except OSError as error:
        raise click.BadParameter(f"cannot read {path}: {error.strerror}",
                                 param_hint=SASL_PASSWORD_FILE) from None
    return replace(kafka, sasl_password=password)


def _globals(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} must hold a YAML map", param_hint="--globals")
    return data


def _retention(value: str | None) -> timedelta | None:
    if not value:
        return None
    try:
        keep = parse_duration(value)
    except InvalidDuration as error:
        raise click.BadParameter(str(error), param_hint="--retention") from None
    if keep <= timedelta(0):
        raise click.BadParameter(f"`{value}` is not a positive duration", param_hint="--retention")
    return keep


def _secrets() -> dict[str, str]:
    """Kestra's open-source convention: SECRET_<NAME> environment variables, base64-encoded."""
    import base64

    out = {}
    for key, value in os.environ.items():
        if key.startswith("SECRET_"):
            try:
                out[key[len("SECRET_"):]] = base64.b64decode(value).decode()
            except ValueError:
                out[key[len("SECRET_"):]] = value
    return out


@click.command()
@kafka_options
@logging_options
@management_option
@data_dir_option
@context_limit_option
@click.option("--flow-wait", envvar="OSTINATO_FLOW_WAIT", show_envvar=True, type=float, default=30.0,
              show_default=True, help="Seconds to wait for a flow revision that has not arrived.")
@click.option("--globals", "globals_file", envvar="OSTINATO_GLOBALS", show_envvar=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A YAML file of global variables (`{{ globals.x }}`).")
@click.option("--retention", envvar="OSTINATO_EXECUTOR_RETENTION", show_envvar=True,
              callback=lambda _ctx, _param, value: _retention(value),
              help="Purge finished executions from the executor's store and changelog this long "
                   "after they finish (ISO-8601, e.g. P30D); they can no longer be restarted, "
                   "replayed or resumed then; the API's view keeps them to read (its own "
                   "OSTINATO_API_RETENTION). Default: kept forever.")
@click.option("--retention-sweep", envvar="OSTINATO_EXECUTOR_RETENTION_SWEEP", show_envvar=True,
              type=click.FloatRange(min=0.01), default=60.0, show_default=True,
              help="Seconds between two retention sweeps.")
@click.option("--max-task-runs", envvar="OSTINATO_MAX_TASK_RUNS", show_envvar=True,
              type=click.IntRange(min=1), default=50_000, show_default=True,
              help="The most task runs an execution may have: a ForEach whose values would "
                   "pass it fails at once, naming the limit.")
@wraps_kwargs
def executor(kwargs: dict[str, Any]) -> None:
    """Run the executor: applies events to executions and decides what comes next."""
    from ostinato.services.executor.main import main
    from ostinato.services.executor.retention import Retention
    from ostinato.services.executor.service import ExecutorConfig

    kafka = _service_settings("executor", kwargs)
    config = ExecutorConfig(
        data_dir=kwargs["data_dir"], context_limit=kwargs["context_limit"],
        flow_wait_seconds=kwargs["flow_wait"],
        settings=Settings(envs=envs_from(os.environ), globals=_globals(kwargs["globals_file"]),
                          max_task_runs=kwargs["max_task_runs"]),
        retention=None if kwargs["retention"] is None else Retention(
            keep=kwargs["retention"], every=kwargs["retention_sweep"]))
    main(kafka, codec_of(kwargs), config, management_port=kwargs["management_port"])


@click.command()
@kafka_options
@logging_options
@management_option
@data_dir_option
@storage_dir_option
@context_limit_option
@click.option("--slots", envvar="OSTINATO_WORKER_SLOTS", show_envvar=True, type=int, default=8,
              show_default=True, help="Tasks run at once by this worker.")
@click.option("--script-user", envvar="OSTINATO_SCRIPT_USER", show_envvar=True, default=None,
              help="The account script tasks run as when the worker runs as root, so that they "
                   "cannot read its environment or credentials through /proc.")
@wraps_kwargs
def worker(kwargs: dict[str, Any]) -> None:
    """Run a worker: runs runnable tasks from the worker-tasks topic."""
    from ostinato.services.worker.main import main
    from ostinato.services.worker.service import WorkerConfig

    kafka = _service_settings("worker", kwargs)
    config = WorkerConfig(storage_dir=storage_location(kwargs), slots=kwargs["slots"],
                          context_limit=kwargs["context_limit"], secrets=_secrets(),
                          script_user=kwargs["script_user"])
    main(kafka, codec_of(kwargs), config, management_port=kwargs["management_port"])


@click.command()
@kafka_options
@logging_options
@management_option
@data_dir_option
@click.option("--flow-wait", envvar="OSTINATO_FLOW_WAIT", show_envvar=True, type=float, default=10.0,
              show_default=True, help="Seconds to wait for a flow that has not arrived.")
@wraps_kwargs
def scheduler(kwargs: dict[str, Any]) -> None:
    """Run the scheduler: starts executions from trigger events (the `triggers` topic)."""
    from ostinato.services.scheduler.main import main

    kafka = _service_settings("scheduler", kwargs)
    main(kafka, codec_of(kwargs), management_port=kwargs["management_port"],
         data_dir=kwargs["data_dir"], flow_wait=kwargs["flow_wait"])


@click.command()
@kafka_options
@logging_options
@management_option
@data_dir_option
@storage_dir_option
@click.option("--host", envvar="OSTINATO_API_HOST", show_envvar=True, default="127.0.0.1",
              show_default=True)
@click.option("--port", envvar="OSTINATO_API_PORT", show_envvar=True, type=int, default=8080,
              show_default=True)
@wraps_kwargs
def api(kwargs: dict[str, Any]) -> None:
    """Run the HTTP API: Kestra's REST paths (flows, executions, logs, webhooks) served from a
    view of the topics kept in DATA_DIR. Also read from the environment:
    OSTINATO_API_BASIC_AUTH (`user:password`), OSTINATO_API_CORS_ORIGINS (comma-separated),
    OSTINATO_API_MAX_WEBHOOK_BODY (bytes), OSTINATO_API_READ_WAIT (seconds),
    OSTINATO_API_RETENTION (an ISO-8601 duration: executions that ended longer ago are
    dropped from the view, with their logs; default: kept), and the limits of README's
    "Limits and security": OSTINATO_API_MAX_BODY, OSTINATO_API_MAX_UPLOAD,
    OSTINATO_API_MAX_INPUTS, OSTINATO_API_MAX_JSON_DEPTH (bytes or levels),
    OSTINATO_API_PARSE_THREADS, OSTINATO_CONTEXT_LIMIT."""
    from ostinato.services.api.context import ApiSettings
    from ostinato.services.api.main import main

    kafka = _service_settings("api", kwargs)
    try:
        settings = ApiSettings.from_env()
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    main(kafka, codec_of(kwargs), host=kwargs["host"], port=kwargs["port"],
         management_port=kwargs["management_port"], data_dir=kwargs["data_dir"],
         storage_dir=storage_location(kwargs), settings=settings)
