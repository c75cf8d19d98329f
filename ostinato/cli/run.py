"""`ostinato run FILE`: deploy a flow, run one execution, show it task by task."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ostinato.cli.api_client import ApiClient, ApiError, exit_on_api_error
from ostinato.cli.options import (
    api_client_of,
    api_options,
    codec_of,
    kafka_options,
    kafka_settings,
    wraps_kwargs,
)
from ostinato.cli.output import console as make_console
from ostinato.cli.output import duration, instant, output_format, output_options, seconds_text
from ostinato.execution.states import TERMINAL_STATES, StateType

if TYPE_CHECKING:  # the models are imported when `run` runs: --help stays fast
    from rich.console import Console
    from rich.status import Status

    from ostinato.execution.model import Execution
    from ostinato.kafka.client import BusClient
    from ostinato.storage import LocalStorage
    from ostinato.wire.records import LogEntry

STATE_STYLE: dict[str, str] = {
    StateType.SUCCESS: "green", StateType.WARNING: "yellow", StateType.FAILED: "red",
    StateType.KILLED: "red", StateType.SKIPPED: "dim", StateType.RUNNING: "cyan",
    StateType.PAUSED: "magenta", StateType.RETRYING: "yellow"}


def passed(state: str) -> bool:
    """The final state a command exits 0 for: SUCCESS or WARNING."""
    return state in (StateType.SUCCESS, StateType.WARNING)


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


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _run_duration(run: Any) -> str:
    """A task run's duration from its first to its last state change."""
    histories = run.state.histories
    start, end = instant(histories[0].date), instant(histories[-1].date)
    return seconds_text((end - start).total_seconds()) if start and end else ""


class Progress:
    """Prints each task run when it starts and when it ends, with its duration (to stderr);
    on a terminal a live status line says what the command waits for."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.seen: dict[str, str] = {}
        self._status: Status | None = None

    def waiting(self, what: str) -> None:
        """Show (or change) the status line: a spinner and `what` (a terminal only)."""
        if not self.console.is_terminal:
            return
        if self._status is None:
            self._status = self.console.status(what)
            self._status.start()
        else:
            self._status.update(what)

    def done(self) -> None:
        """Take the status line away."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __call__(self, execution: Execution) -> None:
        # in the order things happened: a flowable ends after its last child, also when
        # both ended in the same event (same date)
        parents = {run.parent_task_run_id for run in execution.task_run_list}
        ordered = sorted(enumerate(execution.task_run_list),
                         key=lambda pair: (pair[1].state.histories[-1].date, pair[1].id in parents, pair[0]))
        for _, run in ordered:
            state = run.state.current
            if self.seen.get(run.id) == state:
                continue
            if state == StateType.CREATED or (state == StateType.RUNNING and run.id in self.seen):
                self.seen[run.id] = state
                continue
            self.seen[run.id] = state
            label = run.task_id + (f" [{run.value}]" if run.value is not None else "")
            style = STATE_STYLE.get(state, "white")
            took = f"  [dim]{_run_duration(run)}[/dim]" if state in TERMINAL_STATES else ""
            self.console.print(f"  [{style}]{state:<8}[/{style}] {_escape(label)}{took}", highlight=False)
        self.waiting(_waiting_on(execution))

    def log(self, entry: LogEntry) -> None:
        self.log_line(entry.level, entry.task_id, entry.message)

    def log_line(self, level: str, task_id: str | None, message: str) -> None:
        if level in ("ERROR", "WARN", "INFO"):
            where = task_id or "execution"
            self.console.print(f"  [dim]{level:<5} {_escape(where)}: {_escape(message)}[/dim]",
                               highlight=False)


def _waiting_on(execution: Execution) -> str:
    """What the execution waits for, for the status line."""
    state = execution.state.current
    running = [run.task_id for run in execution.task_run_list
               if run.state.current in (StateType.RUNNING, StateType.CREATED)]
    if state == StateType.CREATED or (state == StateType.RUNNING and not execution.task_run_list):
        return f"execution {state.lower()}: waiting for the executor"
    if running:
        return f"execution {str(state).lower()}: {', '.join(running[-3:])}"
    return f"execution {str(state).lower()}"


def execution_of(data: dict[str, Any]) -> Execution:
    """An Execution from the API's JSON (Kestra's, without ostinato's bookkeeping); task runs
    that leave out their execution id, namespace or flow id get the execution's."""
    from ostinato.execution.model import Execution

    runs = [{"executionId": data["id"], "namespace": data["namespace"], "flowId": data["flowId"], **run}
            for run in data.get("taskRunList") or []]
    return Execution.from_dict({**data, "taskRunList": runs})


def show_final(console: Console, final: dict[str, Any], fmt: str) -> int:
    """The final state and total duration (stderr), then the execution's JSON or its outputs;
    the exit code: 0 for SUCCESS or WARNING, else 1."""
    state = final["state"]["current"]
    style = STATE_STYLE.get(state, "white")
    took = duration(final["state"])
    console.print(f"final state: [{style}]{state}[/{style}]" + (f" in {took}" if took else ""),
                  highlight=False)
    if fmt != "table":
        print(json.dumps(final, indent=2 if fmt == "json" else None, ensure_ascii=False))
    elif final.get("outputs"):
        console.print(f"outputs: {json.dumps(final['outputs'], ensure_ascii=False)}", highlight=False)
    return 0 if passed(state) else 1


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE",
              help="An input value (repeatable); NAME=@path uploads a file for a FILE input.")
@click.option("--flows", "flows_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Deploy every flow in this folder too (for subflows).")
@output_options("Print the final execution as Kestra's JSON (jsonl: on one line).")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Embedded stack only: keep its state here (default: a temporary folder).")
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def run(kwargs: dict[str, Any]) -> None:
    """Run FILE once and show its progress; exit 0 for SUCCESS or WARNING, 1 for another
    final state, 2 for an invalid flow or input. With --server, through that ostinato API;
    else without --bootstrap-servers, an embedded broker and the services start for the run
    (on free ports) and stop after it. On a terminal a status line says what it waits for;
    each task run is shown with its duration, the execution with its total."""
    from ostinato.flow.parser import FlowValidationError, parse_flow
    from ostinato.kafka.client import BusClient
    from ostinato.storage import LocalStorage

    fmt = output_format(kwargs)
    console = make_console(stderr=True)
    source = kwargs["file"].read_text()
    try:
        flow = parse_flow(source)
        others = [(p, p.read_text()) for p in _flow_files(kwargs["flows_dir"])]
        for path, text in others:
            parse_flow(text)
    except FlowValidationError as error:
        console.print(f"[red]invalid flow[/red]\n{_escape(str(error))}", highlight=False)
        sys.exit(2)
    raw_inputs = _parse_inputs(kwargs["inputs"])
    api = api_client_of(kwargs)
    if api is not None:
        with api, exit_on_api_error():
            sys.exit(_run_on_api(console, api, flow, source, others, raw_inputs,
                                 fmt, kwargs["timeout"]))
    settings = kafka_settings(kwargs, required=False)
    codec = codec_of(kwargs)
    with tempfile.TemporaryDirectory(prefix="ostinato-run-") as tmp:
        data_dir = kwargs["data_dir"] or Path(tmp)
        stack = None
        if settings is None:
            from ostinato.cli.stack import LocalStack

            stack = LocalStack(data_dir=data_dir, standalone=True)  # one of each: no group joins
            console.print(f"[dim]starting an embedded stack in {data_dir}[/dim]")
            progress = Progress(console)
            progress.waiting("starting the embedded stack (broker, executor, worker)")
            try:
                stack.start()
            finally:
                progress.done()
            settings = stack.settings()
            storage = LocalStorage(stack.storage_dir)
        else:
            storage = LocalStorage(data_dir / "storage")
        from ostinato.cli.stack_watch import StackWatchdog

        watchdog = None if stack is None else StackWatchdog(stack, console).start()
        try:
            code = _run(console, BusClient(settings, codec), flow, source, others, raw_inputs,
                        storage, fmt, kwargs["timeout"])
        except KeyboardInterrupt:
            if watchdog is None or watchdog.failure is None:
                raise
            console.print(f"[red]error:[/red] {_escape(watchdog.failure)}", highlight=False)
            code = 1
        finally:
            if watchdog is not None:
                watchdog.stop()
            if stack is not None:
                stack.stop()
    sys.exit(code)


def _run(console: Console, client: BusClient, flow: Any, source: str,
         others: list[tuple[Path, str]], raw_inputs: dict[str, str], storage: LocalStorage,
         fmt: str, timeout: float | None) -> int:
    from ostinato.flow.inputs import InputError, type_inputs
    from ostinato.kafka.client import new_execution_id
    from ostinato.storage import input_file_uri_path

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
    progress = Progress(console)
    progress.waiting(f"deploying {flow.namespace}.{flow.id}")
    try:
        for _, text in others:
            client.deploy(text)
        flow, _ = client.deploy(source)
        start = client.end_offsets(["executions", "logs"])
        console.print(f"execution [bold]{execution_id}[/bold] of {flow.namespace}.{flow.id} "
                      f"(revision {flow.revision})", highlight=False)
        progress.waiting("execution requested: waiting for the executor")
        client.request(flow, inputs, execution_id=execution_id)
        final = client.follow(execution_id, on_change=progress, on_log=progress.log,
                              timeout=timeout, start_offsets=start)
    finally:
        progress.done()
    client.close()
    return show_final(console, final.to_dict(internal=False), fmt)


def _print_invalid(console: Console, what: str, error: ApiError) -> None:
    console.print(f"[red]{what}[/red]", highlight=False)
    console.print(_escape(error.message), highlight=False)
    for detail in error.details:
        console.print(f"  {_escape(detail)}", highlight=False)


def _run_on_api(console: Console, api: ApiClient, flow: Any, source: str,
                others: list[tuple[Path, str]], raw_inputs: dict[str, str], fmt: str,
                timeout: float | None) -> int:
    """`run` through the API: deploy, create the execution (FILE inputs uploaded), follow
    it over server-sent events with its logs beside, show the end."""
    deadline = None if timeout is None else time.monotonic() + timeout
    fields: dict[str, str] = {}
    files: dict[str, Path] = {}
    declared = {decl.id: decl for decl in flow.inputs}
    for name, value in raw_inputs.items():
        decl = declared.get(name)
        if decl is not None and decl.type == "FILE" and not value.startswith("kestra://"):
            path = Path(value.removeprefix("@"))
            if not path.is_file():
                console.print(f"[red]invalid input[/red]\nInvalid input for `{_escape(name)}`: "
                              f"no file {_escape(str(path))}", highlight=False)
                return 2
            files[name] = path
        else:
            fields[name] = value
    try:
        for _, text in others:
            api.deploy_flow(text)
        deployed = api.deploy_flow(source)
    except ApiError as error:
        if error.status != 422:
            raise
        _print_invalid(console, "invalid flow", error)
        return 2
    try:
        created = api.create_execution(deployed["namespace"], deployed["id"], fields, files)
    except ApiError as error:
        if error.status != 422:
            raise
        _print_invalid(console, "invalid input", error)
        return 2
    execution_id = created["id"]
    console.print(f"execution [bold]{execution_id}[/bold] of {created['namespace']}.{created['flowId']} "
                  f"(revision {created.get('flowRevision', deployed.get('revision'))})", highlight=False)
    progress = Progress(console)
    progress.waiting("execution requested: waiting for the executor")
    done = threading.Event()
    logs = threading.Thread(target=_print_logs, args=(api.clone(), execution_id, progress, done),
                            name="logs", daemon=True)
    logs.start()
    try:
        final = follow_to_end(api, execution_id, progress, deadline)
        if final is None:
            console.print(f"[red]execution {execution_id} did not finish within {timeout} s[/red]",
                          highlight=False)
            return 1
        # the server closes the log stream once the execution's logs are sent
        logs.join(timeout=5.0)
    finally:
        progress.done()
        done.set()  # a log stream still open prints nothing more
    return show_final(console, final, fmt)


def follow_to_end(api: ApiClient, execution_id: str, progress: Progress,
                  deadline: float | None = None) -> dict[str, Any] | None:
    """Follow an execution until its `end` event, showing each change; its final JSON, or
    None if `deadline` (a time.monotonic() instant) passed first. A stream that closes
    before `end` (the API restarted ...) is opened again, unless the execution has ended."""
    empty_streams = 0
    while True:
        wait = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        seen = False
        try:
            for event_id, data in api.follow_execution(execution_id, timeout=wait):
                seen = True
                progress(execution_of(data))
                if event_id == "end":
                    return data
                if deadline is not None and time.monotonic() > deadline:
                    return None
        except ApiError as error:
            if error.status is None and deadline is not None and time.monotonic() >= deadline:
                return None
            raise
        current = api.get_execution(execution_id)
        if current["state"]["current"] in TERMINAL_STATES:
            progress(execution_of(current))
            return current
        empty_streams = 0 if seen else empty_streams + 1
        if empty_streams >= 3:
            raise ApiError(None, f"the API at {api.server} keeps closing the event stream of "
                                 f"execution {execution_id} before its end")
        pause = min(0.1 * 2 ** empty_streams, 2.0)
        if deadline is not None and time.monotonic() + pause >= deadline:
            return None
        time.sleep(pause)  # not hammering a server that closes streams


def _print_logs(api: ApiClient, execution_id: str, progress: Progress, done: threading.Event) -> None:
    with api:
        try:
            for entry in api.follow_logs(execution_id, min_level="INFO"):
                if done.is_set():
                    return
                progress.log_line(str(entry.get("level")), entry.get("taskId"), str(entry.get("message")))
        except ApiError as error:
            if not done.is_set():
                progress.console.print(f"[dim]logs unavailable: {_escape(error.message)}[/dim]",
                                       highlight=False)
