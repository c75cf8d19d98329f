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

from ostinato.cli.stack import SERVICES, LocalStack


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("./ostinato-data"),
              show_default=True, help="Where the services keep their state and files.")
@click.option("--port", type=int, default=8080, show_default=True, help="The API's port.")
@click.option("--broker-port", type=int, default=None, help="Kafka port (default: a free one).")
def local(data_dir: Path, port: int, broker_port: int | None) -> None:
    """Start the embedded broker and the four services as separate processes; Ctrl-C or
    SIGTERM stops everything. /health on the API answers 200 once all four are up."""
    console = Console(stderr=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = LocalStack(data_dir=data_dir, services=SERVICES, broker_port=broker_port,
                       api_port=port, log_stream=sys.stderr.buffer)
    stack.start()
    console.print(f"[bold]ostinato local[/bold]\n  kafka   {stack.bootstrap_servers}"
                  f"  (prefix ostinato.)\n  api     http://127.0.0.1:{port}\n"
                  f"  data    {data_dir.resolve()}\n  storage {stack.storage_dir.resolve()}",
                  highlight=False)
    try:
        _watch(console, stack, port, stop)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping ...")
        stack.stop()
        console.print("stopped")


def _watch(console: Console, stack: LocalStack, port: int, stop: threading.Event) -> None:
    healthy = False
    while not stop.is_set():
        dead = stack.dead_services()
        if dead:
            console.print(f"[red]service(s) stopped unexpectedly: {', '.join(dead)}[/red]")
            return
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            status = {"status": "DOWN", "missing": list(SERVICES)}
        up = status.get("status") == "UP"
        if up != healthy:
            healthy = up
            text = "[green]all services up[/green]" if up else f"waiting for {', '.join(status.get('missing', []))}"
            console.print(text, highlight=False)
        stop.wait(1.0)
        time.sleep(0)
