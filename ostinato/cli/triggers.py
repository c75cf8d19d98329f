"""`ostinato trigger backfill`: run every occurrence of a Schedule trigger in a range."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed
from ostinato.cli.options import codec_of, kafka_options, kafka_settings, wraps_kwargs
from ostinato.flow.inputs import type_inputs
from ostinato.flow.parser import parse_flow
from ostinato.flow.triggers import Schedule
from ostinato.kafka.client import BusClient
from ostinato.triggers.schedule import occurrences, request_for
from ostinato.wire import records as rec


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.group()
def trigger() -> None:
    """Work with a flow's triggers."""


@trigger.command()
@click.argument("namespace")
@click.argument("flow_id")
@click.argument("trigger_id")
@click.option("--start", required=True, help="First moment of the range (ISO-8601, UTC if no zone).")
@click.option("--end", required=True, help="Last moment of the range (ISO-8601).")
@kafka_options
@wraps_kwargs
def backfill(kwargs: dict[str, Any]) -> None:
    """Start an execution for every occurrence of a Schedule trigger from --start to --end.
    Occurrences already run are not run again (their execution ids are derived from them)."""
    settings = kafka_settings(kwargs)
    assert settings is not None
    codec = codec_of(kwargs)
    revisions = BusClient(settings, codec).deployed_revisions()
    deployed = revisions.get((None, kwargs["namespace"], kwargs["flow_id"]))
    if deployed is None or deployed.deleted:
        click.echo(f"no flow {kwargs['namespace']}.{kwargs['flow_id']} is deployed", err=True)
        sys.exit(2)
    flow = parse_flow(deployed.source)
    flow.revision = deployed.revision
    schedule = next((t for t in flow.triggers
                     if t.id == kwargs["trigger_id"] and isinstance(t, Schedule)), None)
    if schedule is None:
        click.echo(f"flow {flow.uid} has no Schedule trigger `{kwargs['trigger_id']}`", err=True)
        sys.exit(2)
    start, end = _instant(kwargs["start"]), _instant(kwargs["end"])
    if end < start:
        raise click.BadParameter("--end is before --start", param_hint="--end")
    producer = ConfirmingProducer(settings)
    deliveries = []
    now = datetime.now(timezone.utc)
    count = 0
    # an occurrence exactly at --start belongs to the range: look from just before it
    for moment in occurrences(schedule, start - timedelta(microseconds=1), end):
        if moment < start:
            continue
        request = request_for(flow, schedule, moment, now,
                              lambda f, inputs: type_inputs(f.inputs, inputs), backfill=True)
        name, value = rec.event_to_record(request)
        deliveries.append(producer.produce("executor", request.execution_id,
                                           codec.encode(name, value)))
        count += 1
    try:
        producer.confirm(deliveries, timeout=30)
    except DeliveryFailed as error:
        click.echo(f"the backfill could not be delivered to Kafka: {error}", err=True)
        sys.exit(1)
    click.echo(f"{count} occurrences of {flow.uid} / {schedule.id} requested "
               f"from {start.isoformat()} to {end.isoformat()}")

