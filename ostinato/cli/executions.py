"""`ostinato execution ...`: kill, resume, restart and replay through the API (or Kafka
with --bootstrap-servers); list, get, logs and follow through the API."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ostinato.cli.api_client import ApiClient, exit_on_api_error
from ostinato.cli.options import (
    api_client_of,
    api_options,
    codec_of,
    kafka_options,
    kafka_settings,
    wraps_kwargs,
)
from ostinato.cli.output import console as _console
from ostinato.cli.output import dumps as _dumps
from ostinato.cli.output import duration, output_format, output_options, print_items
from ostinato.cli.output import when as _when
from ostinato.execution.states import StateType

if TYPE_CHECKING:
    from ostinato.decider import events as ev

STATES = click.Choice([state.value for state in StateType], case_sensitive=False)


@click.group()
def execution() -> None:
    """Control executions (kill, resume, restart, replay: through the API, or Kafka with
    --bootstrap-servers) and look at them (list, get, logs, follow: through the API)."""


def _send(kwargs: dict[str, Any], event: ev.Event) -> None:
    from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed
    from ostinato.wire import records as rec

    settings = kafka_settings(kwargs)
    assert settings is not None
    codec = codec_of(kwargs)
    name, record = rec.event_to_record(event)
    try:
        ConfirmingProducer(settings).send_and_confirm(
            "executor", event.execution_id, codec.encode(name, record), timeout=10)
    except DeliveryFailed as error:
        click.echo(f"the request could not be delivered to Kafka: {error}", err=True)
        sys.exit(1)


def _now() -> datetime:
    return datetime.now(UTC)


def _control(kwargs: dict[str, Any], execution_id: str, *, through_api: Callable[[ApiClient], Any],
             event: Callable[[], ev.Event]) -> Any:
    """Through the API (what `through_api` answers), or the event on Kafka with
    --bootstrap-servers and no --server."""
    api = api_client_of(kwargs, default_server=True)
    if api is None:
        _send(kwargs, event())
        return None
    with api, exit_on_api_error(f"execution {execution_id} not found"):
        return through_api(api)


@execution.command()
@click.argument("execution_id")
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def kill(kwargs: dict[str, Any]) -> None:
    """Kill EXECUTION_ID: it goes KILLING then KILLED; running tasks on workers are stopped."""
    from ostinato.decider import events as ev

    execution_id = kwargs.pop("execution_id")
    _control(kwargs, execution_id, through_api=lambda api: api.kill(execution_id),
             event=lambda: ev.Kill(str(uuid.uuid4()), _now(), execution_id))
    click.echo(f"kill requested for {execution_id}")


@execution.command()
@click.argument("execution_id")
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE",
              help="A value for the Pause task's onResume inputs (repeatable).")
@click.option("--task-run", "task_run_id", default=None, help="Resume only this paused task run.")
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def resume(kwargs: dict[str, Any]) -> None:
    """Resume a PAUSED execution (every paused task run, or the one named; through the API,
    which types the inputs as the Pause tasks declare them, every paused run)."""
    from ostinato.decider import events as ev

    execution_id = kwargs.pop("execution_id")
    values = {}
    for item in kwargs.pop("inputs"):
        if "=" not in item:
            raise click.BadParameter(f"`{item}` is not NAME=VALUE", param_hint="--input")
        name, value = item.split("=", 1)
        values[name] = value
    task_run_id = kwargs.pop("task_run_id")
    if (kwargs["server"] or not kwargs["bootstrap_servers"]) and task_run_id is not None:
        raise click.UsageError("--task-run needs --bootstrap-servers (the API resumes "
                               "every paused task run, as Kestra's)")
    _control(kwargs, execution_id, through_api=lambda api: api.resume(execution_id, values),
             event=lambda: ev.Resume(str(uuid.uuid4()), _now(), execution_id,
                                     task_run_id=task_run_id, inputs=values))
    click.echo(f"resume requested for {execution_id}")


@execution.command()
@click.argument("execution_id")
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def restart(kwargs: dict[str, Any]) -> None:
    """Restart a FAILED or KILLED execution from its failed task runs (a new attempt each)."""
    from ostinato.decider import events as ev

    execution_id = kwargs.pop("execution_id")
    _control(kwargs, execution_id, through_api=lambda api: api.restart(execution_id),
             event=lambda: ev.Restart(str(uuid.uuid4()), _now(), execution_id))
    click.echo(f"restart requested for {execution_id}")


@execution.command()
@click.argument("execution_id")
@click.option("--task-run", "task_run_id", default=None,
              help="Replay from this task run: the task runs created before it are kept.")
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def replay(kwargs: dict[str, Any]) -> None:
    """Run a finished execution again as a new execution with the same inputs and labels
    (from the start, or from --task-run); prints the new execution's id."""
    from ostinato.decider import events as ev
    from ostinato.kafka.client import new_execution_id

    execution_id = kwargs.pop("execution_id")
    task_run_id = kwargs.pop("task_run_id")
    new_id = new_execution_id()
    answered = _control(
        kwargs, execution_id, through_api=lambda api: api.replay(execution_id, task_run_id),
        event=lambda: ev.Replay(str(uuid.uuid4()), _now(), execution_id, new_execution_id=new_id,
                                task_run_id=task_run_id))
    if answered is not None:  # the API chose the new execution's id
        new_id = str(answered["id"])
    click.echo(new_id)


# ---- through the API: list, get, logs, follow

def _api(kwargs: dict[str, Any]) -> ApiClient:
    client = api_client_of(kwargs)
    assert client is not None  # --server has a default
    return client


def _styled(state: str) -> str:
    from ostinato.cli.run import STATE_STYLE

    style = STATE_STYLE.get(state, "white")
    return f"[{style}]{state}[/{style}]"


@execution.command("list")
@click.option("--namespace", default=None, help="Only this namespace (and those under it).")
@click.option("--flow-id", default=None, help="Only executions of this flow.")
@click.option("--state", type=STATES, default=None, metavar="STATE",
              help="Only executions in this state (any case): " + ", ".join(STATES.choices) + ".")
@click.option("--size", type=click.IntRange(min=1), default=25, show_default=True,
              help="How many executions, latest started first.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@output_options("Print the API's answer as JSON (jsonl: an execution a line).")
@api_options()
@wraps_kwargs
def list_(kwargs: dict[str, Any]) -> None:
    """List executions through the API: id, namespace, flow, state, start, duration."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    fmt = output_format(kwargs)
    with _api(kwargs) as api, exit_on_api_error(as_json=kwargs["as_json"]):
        answer = api.search_executions(namespace=kwargs["namespace"], flow_id=kwargs["flow_id"],
                                       state=kwargs["state"], page=kwargs["page"], size=kwargs["size"])
    results = answer.get("results") or []
    if print_items(results, answer, fmt):
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    # ids and dates whole whatever the width (they are copied); names cut short (…) on a
    # narrow terminal rather than wrapped
    table.add_column("id", no_wrap=True, min_width=22)
    table.add_column("namespace", no_wrap=True, overflow="ellipsis")
    table.add_column("flow", no_wrap=True, overflow="ellipsis")
    for column in ("state", "start", "duration"):
        table.add_column(column, no_wrap=True)
    for item in results:
        state = item.get("state") or {}
        table.add_row(escape(item["id"]), escape(item.get("namespace", "")), escape(item.get("flowId", "")),
                      _styled(state.get("current", "")), _when(state.get("startDate")), duration(state))
    console = _console()
    console.print(table)
    console.print(f"{len(results)} of {answer.get('total', len(results))} executions",
                  style="dim")


def _task_rows(runs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Task runs in tree order (children under their parent, creation order among
    siblings), each with its depth."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {run["id"] for run in runs}
    for run in runs:
        parent = run.get("parentTaskRunId")
        children.setdefault(parent if parent in ids else None, []).append(run)
    out: list[tuple[int, dict[str, Any]]] = []

    def walk(parent: str | None, depth: int) -> None:
        for run in children.get(parent, []):
            out.append((depth, run))
            walk(run["id"], depth + 1)
    walk(None, 0)
    return out


@execution.command()
@click.argument("execution_id")
@output_options("Print the execution as Kestra's JSON.")
@api_options()
@wraps_kwargs
def get(kwargs: dict[str, Any]) -> None:
    """Show an execution through the API: its state, inputs and outputs, and its task runs."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    execution_id = kwargs.pop("execution_id")
    fmt = output_format(kwargs)
    with _api(kwargs) as api, exit_on_api_error(f"execution {execution_id} not found",
                                                as_json=kwargs["as_json"]):
        data = api.get_execution(execution_id)
    if print_items([data], data, fmt):
        return
    console = _console()
    state = data.get("state") or {}
    console.print(f"[bold]{escape(data['id'])}[/bold]  {escape(data.get('namespace', ''))}."
                  f"{escape(data.get('flowId', ''))} revision {data.get('flowRevision')}")
    console.print(f"  state     {_styled(state.get('current', ''))}")
    console.print(f"  started   {_when(state.get('startDate'))}")
    if state.get("endDate"):
        console.print(f"  ended     {_when(state.get('endDate'))}")
    console.print(f"  duration  {duration(state)}")
    for key in ("inputs", "outputs"):
        if data.get(key):
            console.print(f"  {key:<9} {escape(_dumps(data[key]))}")
    if data.get("labels"):
        labels = ", ".join(f"{item['key']}:{item['value']}" for item in data["labels"])
        console.print(f"  labels    {escape(labels)}")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("task", "value", "state", "duration", "attempts", "task run id"):
        table.add_column(column, no_wrap=True, overflow="ellipsis" if column in ("task", "value") else "fold",
                         min_width=22 if column == "task run id" else None)
    for depth, run in _task_rows(data.get("taskRunList") or []):
        run_state = run.get("state") or {}
        table.add_row("  " * depth + escape(run.get("taskId", "")),
                      escape("" if run.get("value") is None else str(run["value"])),
                      _styled(run_state.get("current", "")), duration(run_state),
                      str(len(run.get("attempts") or [])), escape(run["id"]))
    console.print()
    console.print(table)


def _log_line(entry: dict[str, Any]) -> str:
    return (f"{_when(entry.get('timestamp'), millis=True)} {entry.get('level', ''):<5} "
            f"{entry.get('taskId') or '-'} {entry.get('message', '')}")


LEVELS = click.Choice(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], case_sensitive=False)


@execution.command()
@click.argument("execution_id")
@click.option("--min-level", type=LEVELS, default=None, help="Only lines at this level or above.")
@click.option("--task-run", "task_run_id", default=None, help="Only the lines of this task run.")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing lines as they come until the execution has ended.")
@output_options("Each line as the API's JSON, one a line (a stream: json is jsonl).")
@api_options()
@wraps_kwargs
def logs(kwargs: dict[str, Any]) -> None:
    """Print an execution's logs through the API: `timestamp LEVEL taskId message`."""
    execution_id = kwargs.pop("execution_id")
    output_format(kwargs)
    min_level = kwargs["min_level"].upper() if kwargs["min_level"] else None
    task_run_id = kwargs["task_run_id"]
    with _api(kwargs) as api, exit_on_api_error(f"execution {execution_id} not found",
                                                as_json=kwargs["as_json"]):
        if kwargs["follow"]:
            # the follow stream filters by level only: the task run is filtered here
            entries: Iterable[dict[str, Any]] = (
                e for e in api.follow_logs(execution_id, min_level)
                if task_run_id is None or e.get("taskRunId") == task_run_id)
        else:
            entries = api.logs(execution_id, min_level=min_level, task_run_id=task_run_id)
        for entry in entries:
            click.echo(_dumps(entry) if kwargs["as_json"] else _log_line(entry))


@execution.command()
@click.argument("execution_id")
@output_options("Print each change's execution as one line of JSON (a stream: json is jsonl).")
@api_options()
@wraps_kwargs
def follow(kwargs: dict[str, Any]) -> None:
    """Follow an execution through the API until it ends, showing each task run as it starts
    and ends; exit 0 if it ended in SUCCESS or WARNING, else 1."""
    from rich.markup import escape

    from ostinato.cli.run import Progress, follow_to_end, passed

    execution_id = kwargs.pop("execution_id")
    output_format(kwargs)
    final: dict[str, Any] | None = None
    with _api(kwargs) as api, exit_on_api_error(f"execution {execution_id} not found",
                                                as_json=kwargs["as_json"]):
        if kwargs["as_json"]:
            for _, data in api.follow_execution(execution_id):
                click.echo(_dumps(data))
                final = data
        else:
            console = _console()
            progress = Progress(console)
            final = follow_to_end(api, execution_id, progress)
            assert final is not None  # no deadline
            console.print(f"final state: {_styled(final['state']['current'])}")
            if final.get("outputs"):
                console.print(f"outputs: {escape(_dumps(final['outputs']))}")
    if final is None or not passed(final["state"]["current"]):
        sys.exit(1)
