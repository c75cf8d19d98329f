"""`ostinato flow validate|deploy`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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
from ostinato.flow.parser import parse_flow, validate_flow, validate_flow_with_warnings


def _files(paths: tuple[Path, ...]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        else:
            out.append(path)
    return out


@click.group()
def flow() -> None:
    """Validate and deploy flows."""


@flow.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check flows offline: every problem is listed with its path and line. Exit 1 if any.
    Warnings (e.g. a Docker task runner on a machine without docker) do not fail the check."""
    bad = 0
    for path in _files(files):
        errors, warnings = validate_flow_with_warnings(path.read_text())
        if errors:
            bad += 1
            click.echo(f"{path}: {len(errors)} error(s)")
            for error in errors:
                click.echo(f"  {error}")
        else:
            click.echo(f"{path}: valid" + (f", {len(warnings)} warning(s)" if warnings else ""))
            for warning in warnings:
                click.echo(f"  warning: {warning}")
    sys.exit(1 if bad else 0)


@flow.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def deploy(kwargs: dict[str, Any]) -> None:
    """Publish flows (files or folders) to the flows topic, or through the API with --server;
    an unchanged flow keeps its revision. Exit 2 if a flow is invalid (none is deployed when
    the local check finds one)."""
    from ostinato.kafka.client import BusClient
    from ostinato.kafka.topics import ensure_all_topics

    files = _files(kwargs.pop("paths"))
    api = api_client_of(kwargs)
    invalid = {p: validate_flow(p.read_text()) for p in files}
    invalid = {p: e for p, e in invalid.items() if e}
    for path, errors in invalid.items():
        click.echo(f"{path}: invalid", err=True)
        for error in errors:
            click.echo(f"  {error}", err=True)
    if invalid:
        sys.exit(2)
    if api is not None:
        with api, exit_on_api_error():
            sys.exit(deploy_through_api(api, files))
    settings = kafka_settings(kwargs)
    assert settings is not None
    ensure_all_topics(settings)
    client = BusClient(settings, codec_of(kwargs))
    for path in files:
        flow, written = client.deploy(path.read_text())
        what = "deployed" if written else "unchanged"
        click.echo(f"{path}: {flow.namespace}.{flow.id} revision {flow.revision} {what}")
    client.close()


def deploy_through_api(api: ApiClient, files: list[Path]) -> int:
    """Deploy each file with `POST /flows`, printing what happened; 2 at the first flow the
    API rejects (its message and details printed), else 0."""
    for path in files:
        source = path.read_text()
        parsed = parse_flow(source)
        before = api.get_flow(parsed.namespace, parsed.id)
        try:
            answer = api.deploy_flow(source)
        except ApiError as error:
            if error.status != 422:
                raise
            click.echo(f"{path}: invalid", err=True)
            click.echo(f"  {error.message}", err=True)
            for detail in error.details:
                click.echo(f"  {detail}", err=True)
            return 2
        revision = answer.get("revision")
        what = "unchanged" if before is not None and before.get("revision") == revision else "deployed"
        click.echo(f"{path}: {answer.get('namespace', parsed.namespace)}.{answer.get('id', parsed.id)} "
                   f"revision {revision} {what}")
    return 0
