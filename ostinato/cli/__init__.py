"""The `ostinato` command.

Sub-commands are imported when they run (or when their own --help is asked), so that
`ostinato --help` and shell completion of the command names import nothing heavy.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from ostinato.cli.output import set_utc

#: name -> (module, attribute, one-line help shown by `ostinato --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "local": ("ostinato.cli.local", "local", "Start the embedded broker and the four services."),
    "run": ("ostinato.cli.run", "run", "Run a flow file once and show its progress."),
    "flow": ("ostinato.cli.flows", "flow", "Validate, deploy, list, get, delete, export flows."),
    "execution": ("ostinato.cli.executions", "execution", "Look at and control executions."),
    "trigger": ("ostinato.cli.triggers", "trigger", "Work with a flow's triggers."),
    "executor": ("ostinato.cli.services", "executor", "Run the executor service."),
    "worker": ("ostinato.cli.services", "worker", "Run the worker service."),
    "scheduler": ("ostinato.cli.services", "scheduler", "Run the scheduler service."),
    "api": ("ostinato.cli.services", "api", "Run the REST API service."),
}


def wants_json(args: list[str]) -> bool:
    """The command line asks for JSON output (`--json`, `-o json|jsonl`, `--output=json`)."""
    for index, arg in enumerate(args):
        if arg == "--json" or arg in ("-ojson", "-ojsonl", "--output=json", "--output=jsonl"):
            return True
        if arg in ("-o", "--output") and index + 1 < len(args) and args[index + 1] in ("json", "jsonl"):
            return True
    return False


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; under --json a usage error (a bad
    option value, a missing argument) is printed as `{"message": ..., "details": [...]}` on
    stderr, with click's exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command: click.Command = getattr(importlib.import_module(entry[0]), entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or not wants_json(argv):
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as error:
            click.echo(json.dumps({"message": error.format_message(), "details": []}), err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo(json.dumps({"message": "aborted", "details": []}), err=True)
            sys.exit(1)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ostinato")
@click.option("--utc", is_flag=True, envvar="OSTINATO_UTC", show_envvar=True,
              help="Show times in UTC (default: the local time zone); always with their offset.")
def main(utc: bool) -> None:
    """ostinato: an event-sourced workflow orchestrator on Kafka that runs Kestra's flows.

    Commands that talk to the API use --server (OSTINATO_SERVER, default
    http://127.0.0.1:8080, what `ostinato local` serves); Kafka only with --bootstrap-servers.
    """
    set_utc(utc)
