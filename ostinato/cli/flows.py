"""`ostinato flow validate|deploy|list|get|delete|export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ostinato.cli.api_client import exit_on_api_error
from ostinato.cli.options import api_client_of, api_options, codec_of, kafka_options, kafka_settings, wraps_kwargs
from ostinato.cli.output import console, dumps, fail, output_format, output_options, print_items, when

if TYPE_CHECKING:
    from ostinato.cli.api_client import ApiClient

JSON_OPTION = output_options("Print JSON (errors too, as {\"message\", \"details\"} on stderr).")


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
    """Validate, deploy, list, get, delete and export flows."""


@flow.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@JSON_OPTION
def validate(files: tuple[Path, ...], **kwargs: Any) -> None:
    """Check flows offline: every problem is listed with its path and line. Exit 1 if any.
    Warnings (a Docker taskRunner on a machine without docker) do not fail the check.
    With --json: `[{"file", "valid", "errors": [...], "warnings": [...]}, ...]` (jsonl: one
    file a line)."""
    from ostinato.flow.parser import validate_flow_with_warnings

    fmt = output_format(kwargs)
    as_json = kwargs["as_json"]

    report: list[dict[str, Any]] = []
    for path in _files(files):
        errors, warnings = validate_flow_with_warnings(path.read_text())
        report.append({"file": str(path), "errors": [str(e) for e in errors],
                       "warnings": [str(w) for w in warnings]})
    for entry in report:
        entry["valid"] = not entry["errors"]
    print_items(report, report, fmt)
    for entry in report if not as_json else []:
        errors = entry["errors"]
        warned = f", {len(entry['warnings'])} warning(s)" if entry["warnings"] else ""
        click.echo(f"{entry['file']}: {len(errors)} error(s)" if errors else f"{entry['file']}: valid{warned}")
        for error in errors:
            click.echo(f"  {error}")
        for warning in entry["warnings"]:
            click.echo(f"  warning: {warning}")
    sys.exit(1 if any(not e["valid"] for e in report) else 0)


@flow.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@api_options(server_required=False)
@kafka_options
@wraps_kwargs
def deploy(kwargs: dict[str, Any]) -> None:
    """Deploy flows (files or folders) through the API (--server), or to the flows topic with
    --bootstrap-servers; an unchanged flow keeps its revision. Exit 2 if a flow is invalid
    (none is deployed when the local check finds one)."""
    from ostinato.flow.parser import validate_flow

    files = _files(kwargs.pop("paths"))
    api = api_client_of(kwargs, default_server=True)
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
    _deploy_on_kafka(kwargs, files)


def _deploy_on_kafka(kwargs: dict[str, Any], files: list[Path]) -> None:
    from ostinato.kafka.client import BusClient
    from ostinato.kafka.topics import ensure_all_topics

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
    from ostinato.cli.api_client import ApiError
    from ostinato.flow.parser import parse_flow

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


# ---- through the API only: list, get, delete, export

def _api(kwargs: dict[str, Any]) -> ApiClient:
    client = api_client_of(kwargs)
    assert client is not None  # --server has a default
    return client


@flow.command("list")
@click.option("--namespace", default=None, help="Only this namespace (and those under it).")
@click.option("--query", "-q", default=None, help="Only flows whose id or description contains this.")
@click.option("--size", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@JSON_OPTION
@api_options()
@wraps_kwargs
def list_(kwargs: dict[str, Any]) -> None:
    """List the deployed flows (latest revisions): namespace, id, revision, tasks, updated."""
    fmt = output_format(kwargs)
    with _api(kwargs) as api, exit_on_api_error(as_json=kwargs["as_json"]):
        answer = api.search_flows(kwargs["namespace"], kwargs["query"], kwargs["page"], kwargs["size"])
    results = answer.get("results") or []
    if print_items(results, answer, fmt):
        return
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("namespace", "id", "revision", "tasks", "updated"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for item in results:
        table.add_row(escape(item.get("namespace", "")), escape(item.get("id", "")),
                      str(item.get("revision", "")), str(len(item.get("tasks") or [])),
                      when(item.get("updated")))
    out = console()
    out.print(table)
    out.print(f"{len(results)} of {answer.get('total', len(results))} flows", style="dim")


@flow.command()
@click.argument("namespace")
@click.argument("flow_id")
@output_options("The API's JSON of the flow instead of its YAML.")
@api_options()
@wraps_kwargs
def get(kwargs: dict[str, Any]) -> None:
    """Print a flow's YAML source (latest revision), or its JSON with --json."""
    namespace, flow_id = kwargs.pop("namespace"), kwargs.pop("flow_id")
    fmt = output_format(kwargs)
    as_json = kwargs.pop("as_json")
    with _api(kwargs) as api, exit_on_api_error(f"flow {namespace}.{flow_id} not found", as_json=as_json):
        if as_json:
            data = api.get_flow(namespace, flow_id)
            if data is None:
                fail(f"flow {namespace}.{flow_id} not found", as_json=True)
            print_items([data], data, fmt)
        else:
            click.echo(api.flow_source(namespace, flow_id), nl=False)


@flow.command()
@click.argument("namespace")
@click.argument("flow_id")
@JSON_OPTION
@api_options()
@wraps_kwargs
def delete(kwargs: dict[str, Any]) -> None:
    """Delete a flow (its revisions stay in the history); exit 1 if there is no such flow."""
    namespace, flow_id = kwargs.pop("namespace"), kwargs.pop("flow_id")
    output_format(kwargs)
    as_json = kwargs.pop("as_json")
    with _api(kwargs) as api, exit_on_api_error(f"flow {namespace}.{flow_id} not found", as_json=as_json):
        api.delete_flow(namespace, flow_id)
    click.echo(dumps({"namespace": namespace, "id": flow_id, "deleted": True}) if as_json
               else f"{namespace}.{flow_id} deleted")


@flow.command()
@click.option("--namespace", default=None, help="Only this namespace (and those under it).")
@click.option("--query", "-q", default=None, help="Only flows whose id or description contains this.")
@click.option("--file", "-f", "target", type=click.Path(path_type=Path), default=Path("flows.zip"),
              show_default=True, help="The ZIP file to write (`-`: stdout).")
@JSON_OPTION
@api_options()
@wraps_kwargs
def export(kwargs: dict[str, Any]) -> None:
    """Export the matching flows' YAML sources as a ZIP (`<namespace>.<id>.yml` each)."""
    import io
    import zipfile

    output_format(kwargs)
    as_json, target = kwargs.pop("as_json"), kwargs.pop("target")
    with _api(kwargs) as api, exit_on_api_error(as_json=as_json):
        archive = api.export_flows(kwargs["namespace"], kwargs["query"])
    if str(target) == "-":
        sys.stdout.buffer.write(archive)
        return
    target.write_bytes(archive)
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    click.echo(dumps({"file": str(target), "flows": names}) if as_json
               else f"{len(names)} flow(s) written to {target}")
