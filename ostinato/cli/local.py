"""`ostinato local`: the embedded default, the broker and the four services on one machine."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import click
import httpx
from rich.console import Console

from ostinato.broker import BrokerStartError
from ostinato.cli.ports import PortInUse, describe_holder, listening_pid
from ostinato.cli.stack import SERVICES, LocalStack, ServiceKeepsDying


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("./ostinato-data"),
              show_default=True, help="Where the services keep their state and files.")
@click.option("--port", type=int, default=8080, show_default=True, help="The API's port.")
@click.option("--broker-port", type=int, default=None, help="Kafka port (default: a free one).")
def local(data_dir: Path, port: int, broker_port: int | None) -> None:
    """Start the embedded broker and the four services as separate processes; Ctrl-C or
    SIGTERM stops everything. /health on the API answers 200 once all four are up.

    The data directory is the durable thing: flows, executions, trigger, admission and KV
    state survive a stop (or a crash) and start. A service that dies is restarted with
    back-off; a dead broker restarts everything; a service that keeps dying stops the stack
    with status 1. A busy port is an error (status 1) naming the port."""
    console = Console(stderr=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = LocalStack(data_dir=data_dir, services=SERVICES, broker_port=broker_port,
                       api_port=port, log_stream=sys.stderr.buffer, durable=True)
    try:
        stack.start()
    except (PortInUse, BrokerStartError) as error:
        stack.stop()
        console.print(f"[red]ostinato local: {error}[/red]", highlight=False)
        sys.exit(1)
    console.print(f"[bold]ostinato local[/bold]\n  kafka   {stack.bootstrap_servers}"
                  f"  (prefix ostinato.)\n  api     http://127.0.0.1:{port}\n"
                  f"  data    {data_dir.resolve()}\n  storage {stack.storage_dir.resolve()}",
                  highlight=False)
    failure: str | None = None
    try:
        failure = _watch(console, stack, port, stop)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping ...")
        stack.stop()
        console.print("stopped")
    if failure is not None:
        console.print(f"[red]ostinato local: {failure}[/red]", highlight=False)
        sys.exit(1)


def _watch(console: Console, stack: LocalStack, port: int, stop: threading.Event) -> str | None:
    """Supervise and report health until stopped; returns why the stack must stop, if so."""
    healthy = False
    while not stop.is_set():
        try:
            for event in stack.supervise():
                console.print(f"[yellow]{event}[/yellow]", highlight=False)
        except ServiceKeepsDying as error:
            return str(error)
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            status = {"status": "DOWN", "missing": list(SERVICES)}
        up = status.get("status") == "UP"
        problem = _someone_else_on(stack, port) if up and not healthy else None
        if problem is not None:  # checked once per turn to UP: it reads /proc
            return problem
        if up != healthy:
            healthy = up
            text = "[green]all services up[/green]" if up else f"waiting for {', '.join(status.get('missing', []))}"
            console.print(text, highlight=False)
        stop.wait(1.0)
        time.sleep(0)
    return None


def _someone_else_on(stack: LocalStack, port: int) -> str | None:
    """An error when another process than our API listens on the API's port (it took the
    port between the check and the bind): its /health would be a lie."""
    api = next((s for s in stack.processes if s.name == "api" and s.alive()), None)
    holder = listening_pid(port)
    if api is None or holder is None or holder == api.process.pid:
        return None
    return f"{describe_holder(port)}, not by this stack's API (pid {api.process.pid})"
