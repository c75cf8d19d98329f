"""The `ostinato` command."""

from __future__ import annotations

import click

from ostinato.cli.executions import execution
from ostinato.cli.flows import flow
from ostinato.cli.local import local
from ostinato.cli.run import run
from ostinato.cli.services import api, executor, scheduler, worker
from ostinato.cli.triggers import trigger


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ostinato")
def main() -> None:
    """ostinato: an event-sourced workflow orchestrator on Kafka that runs Kestra's flows."""


for command in (local, run, flow, execution, trigger, executor, worker, scheduler, api):
    main.add_command(command)
