"""`python -m ostinato.wire subjects|register`: the registry subjects ostinato writes under,
and registering them ahead of services that run with auto-registration off (a CI job with
write access to the registry; the services then need only read access).

Both take the services' registry options and OSTINATO_* variables."""

from __future__ import annotations

from typing import Any

import click

from ostinato.cli.options import registry_options, registry_settings, wraps_kwargs
from ostinato.wire.registry import TOPIC_RECORDS, RegistryCodec, RegistrySettings
from ostinato.wire.schemas import SchemaSet

_RECORDS = sorted({name for names in TOPIC_RECORDS.values() for name in names})


def _options(func: Any) -> Any:
    for option in reversed([
        click.option("--schema-registry-url", envvar="OSTINATO_SCHEMA_REGISTRY_URL",
                     show_envvar=True, help="The schema registry."),
        click.option("--topic-prefix", "registry_topic_prefix", envvar="OSTINATO_TOPIC_PREFIX",
                     show_envvar=True, default="ostinato.", show_default=True,
                     help="Prefix of every topic name (subjects name topics)."),
        *registry_options(),
    ]):
        func = option(func)
    return func


@click.group()
def main() -> None:
    """Schema registry subjects of ostinato's records."""


@main.command()
@_options
@wraps_kwargs
def subjects(kwargs: dict[str, Any]) -> None:
    """Print `subject<TAB>record` for every subject (no registry is contacted)."""
    kwargs["schema_registry_url"] = kwargs["schema_registry_url"] or "unused://"
    settings = registry_settings(kwargs)
    assert settings is not None  # a URL was set just above
    schemas = SchemaSet.load()
    for name in _RECORDS:
        record = schemas.reader(name)
        assert record is not None, f"no schema for {name}"
        for subject in settings.subjects(record):
            click.echo(f"{subject}\t{record.fullname}")


@main.command()
@_options
@wraps_kwargs
def register(kwargs: dict[str, Any]) -> None:
    """Register the schema of every record under its subjects; print `subject<TAB>id`."""
    settings: RegistrySettings | None = registry_settings(kwargs)
    if settings is None:
        raise click.UsageError("--schema-registry-url (or OSTINATO_SCHEMA_REGISTRY_URL) is required")
    from dataclasses import replace

    from ostinato.wire.codec import WireError

    codec = RegistryCodec(replace(settings, auto_register=True))
    try:
        for name in _RECORDS:
            record = codec.schema(name)
            for subject in settings.subjects(record):
                click.echo(f"{subject}\t{codec.register_or_find(record, subject)}")
    except WireError as error:
        raise click.ClickException(str(error)) from error
