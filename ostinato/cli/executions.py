"""`ostinato execution kill|resume ID`: control a running execution through the bus."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone
from typing import Any

import click
from confluent_kafka import Producer

from ostinato.cli.options import codec_of, kafka_options, kafka_settings, wraps_kwargs
from ostinato.decider import events as ev
from ostinato.wire import records as rec


@click.group()
def execution() -> None:
    """Control executions: kill, resume, restart, replay."""


def _send(kwargs: dict[str, Any], event: ev.Event) -> None:
    settings = kafka_settings(kwargs)
    assert settings is not None
    codec = codec_of(kwargs)
    name, record = rec.event_to_record(event)
    producer = Producer(settings.producer())
    producer.produce(settings.topic("executor"), key=event.execution_id.encode(),
                     value=codec.encode(name, record))
    if producer.flush(10):
        click.echo("the request could not be delivered to Kafka", err=True)
        sys.exit(1)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@execution.command()
@click.argument("execution_id")
@kafka_options
@wraps_kwargs
def kill(kwargs: dict[str, Any]) -> None:
    """Kill EXECUTION_ID: it goes KILLING then KILLED; running tasks on workers are stopped."""
    execution_id = kwargs.pop("execution_id")
    _send(kwargs, ev.Kill(str(uuid.uuid4()), _now(), execution_id))
    click.echo(f"kill requested for {execution_id}")


@execution.command()
@click.argument("execution_id")
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE",
              help="A value for the Pause task's onResume inputs (repeatable).")
@click.option("--task-run", "task_run_id", default=None, help="Resume only this paused task run.")
@kafka_options
@wraps_kwargs
def resume(kwargs: dict[str, Any]) -> None:
    """Resume a PAUSED execution (every paused task run, or the one named)."""
    execution_id = kwargs.pop("execution_id")
    values = {}
    for item in kwargs.pop("inputs"):
        if "=" not in item:
            raise click.BadParameter(f"`{item}` is not NAME=VALUE", param_hint="--input")
        name, value = item.split("=", 1)
        values[name] = value
    _send(kwargs, ev.Resume(str(uuid.uuid4()), _now(), execution_id,
                            task_run_id=kwargs.pop("task_run_id"), inputs=values))
    click.echo(f"resume requested for {execution_id}")


@execution.command()
@click.argument("execution_id")
@kafka_options
@wraps_kwargs
def restart(kwargs: dict[str, Any]) -> None:
    """Restart a FAILED or KILLED execution from its failed task runs (a new attempt each)."""
    execution_id = kwargs.pop("execution_id")
    _send(kwargs, ev.Restart(str(uuid.uuid4()), _now(), execution_id))
    click.echo(f"restart requested for {execution_id}")


@execution.command()
@click.argument("execution_id")
@click.option("--task-run", "task_run_id", default=None,
              help="Replay from this task run: the task runs created before it are kept.")
@kafka_options
@wraps_kwargs
def replay(kwargs: dict[str, Any]) -> None:
    """Run a finished execution again as a new execution with the same inputs and labels
    (from the start, or from --task-run); prints the new execution's id."""
    from ostinato.kafka.client import new_execution_id

    execution_id = kwargs.pop("execution_id")
    task_run_id = kwargs.pop("task_run_id")
    new_id = new_execution_id()
    _send(kwargs, ev.Replay(str(uuid.uuid4()), _now(), execution_id, new_execution_id=new_id,
                            task_run_id=task_run_id))
    click.echo(new_id)
