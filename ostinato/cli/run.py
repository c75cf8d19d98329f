"""`ostinato run FILE`: deploy a flow, run one execution, show it task by task."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ostinato.cli.options import codec_of, kafka_options, kafka_settings, wraps_kwargs
from ostinato.execution.model import Execution
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.parser import FlowValidationError, parse_flow
from ostinato.kafka.client import BusClient, new_execution_id
from ostinato.storage import LocalStorage, input_file_uri_path
from ostinato.wire.records import LogEntry

STATE_STYLE = {"SUCCESS": "green", "WARNING": "yellow", "FAILED": "red", "KILLED": "red",
               "SKIPPED": "dim", "RUNNING": "cyan", "PAUSED": "magenta", "RETRYING": "yellow"}


def _flow_files(flows_dir: Path | None) -> list[Path]:
    if flows_dir is None:
        return []
    return sorted(p for p in flows_dir.rglob("*") if p.suffix in (".yaml", ".yml"))


def _parse_inputs(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"`{item}` is not NAME=VALUE", param_hint="--input")
        name, value = item.split("=", 1)
        out[name] = value
    return out


class Progress:
    """Prints each task run when it starts and when it ends (to stderr)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.seen: dict[str, str] = {}

    def __call__(self, execution: Execution) -> None:
        # in the order things happened: a flowable ends after its last child
        ordered = sorted(enumerate(execution.task_run_list),
                         key=lambda pair: (pair[1].state.histories[-1].date, pair[0]))
        for _, run in ordered:
            state = run.state.current
            if self.seen.get(run.id) == state:
                continue
            if state in ("CREATED",) or (state == "RUNNING" and run.id in self.seen):
                self.seen[run.id] = state
                continue
            self.seen[run.id] = state
            label = run.task_id + (f" [{run.value}]" if run.value is not None else "")
            style = STATE_STYLE.get(state, "white")
            self.console.print(f"  [{style}]{state:<8}[/{style}] {escape(label)}", highlight=False)

    def log(self, entry: LogEntry) -> None:
        if entry.level in ("ERROR", "WARN", "INFO"):
            where = entry.task_id or "execution"
            self.console.print(f"  [dim]{entry.level:<5} {escape(where)}: {escape(entry.message)}[/dim]",
                               highlight=False)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE",
              help="An input value (repeatable); NAME=@path uploads a file for a FILE input.")
@click.option("--flows", "flows_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Deploy every flow in this folder too (for subflows).")
@click.option("--json", "as_json", is_flag=True, help="Print the final execution as Kestra's JSON.")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Embedded stack only: keep its state here (default: a temporary folder).")
@kafka_options
@wraps_kwargs
def run(kwargs: dict[str, Any]) -> None:
    """Run FILE once and show its progress; exit 0 for SUCCESS or WARNING, 1 for another
    final state, 2 for an invalid flow or input. Without --bootstrap-servers, an embedded
    broker and the services start for the run (on free ports) and stop after it."""
    console = Console(stderr=True)
    source = kwargs["file"].read_text()
    try:
        flow = parse_flow(source)
        others = [(p, p.read_text()) for p in _flow_files(kwargs["flows_dir"])]
        for path, text in others:
            parse_flow(text)
    except FlowValidationError as error:
        console.print(f"[red]invalid flow[/red]\n{error}", highlight=False)
        sys.exit(2)
    raw_inputs = _parse_inputs(kwargs["inputs"])
    settings = kafka_settings(kwargs, required=False)
    codec = codec_of(kwargs)
    with tempfile.TemporaryDirectory(prefix="ostinato-run-") as tmp:
        data_dir = kwargs["data_dir"] or Path(tmp)
        stack = None
        if settings is None:
            from ostinato.cli.stack import LocalStack

            stack = LocalStack(data_dir=data_dir)
            console.print(f"[dim]starting an embedded stack in {data_dir}[/dim]")
            stack.start()
            settings = stack.settings()
            storage = LocalStorage(stack.storage_dir)
        else:
            storage = LocalStorage(data_dir / "storage")
        try:
            code = _run(console, BusClient(settings, codec), flow, source, others, raw_inputs,
                        storage, kwargs["as_json"], kwargs["timeout"])
        finally:
            if stack is not None:
                stack.stop()
    sys.exit(code)


def _run(console: Console, client: BusClient, flow: Any, source: str,
         others: list[tuple[Path, str]], raw_inputs: dict[str, str], storage: LocalStorage,
         as_json: bool, timeout: float | None) -> int:
    execution_id = new_execution_id()

    def store_file(input_id: str, value: Any) -> str:
        path = Path(str(value).removeprefix("@"))
        uri = input_file_uri_path(flow.namespace, flow.id, execution_id, input_id, path.name)
        return storage.put(uri, path.read_bytes())

    try:
        inputs = type_inputs(flow.inputs, raw_inputs, store_file=store_file)
    except InputError as error:
        console.print(f"[red]invalid input[/red]\n{error}", highlight=False)
        return 2
    known = client.deployed_revisions()
    for _, text in others:
        client.deploy(text, known=known)
    flow, _ = client.deploy(source, known=known)
    start = client.end_offsets(["executions", "logs"])
    console.print(f"execution [bold]{execution_id}[/bold] of {flow.namespace}.{flow.id} "
                  f"(revision {flow.revision})", highlight=False)
    progress = Progress(console)
    client.request(flow, inputs, execution_id=execution_id)
    final = client.follow(execution_id, on_change=progress, on_log=progress.log,
                          timeout=timeout, start_offsets=start)
    client.close()
    state = final.state.current
    style = STATE_STYLE.get(state, "white")
    console.print(f"final state: [{style}]{state}[/{style}]", highlight=False)
    if as_json:
        print(json.dumps(final.to_dict(internal=False), indent=2, ensure_ascii=False))
    elif final.outputs:
        console.print(f"outputs: {json.dumps(final.outputs, ensure_ascii=False)}", highlight=False)
    return 0 if state in ("SUCCESS", "WARNING") else 1
