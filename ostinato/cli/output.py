"""How the CLI prints: consoles that never hard-wrap when piped, times with their zone,
JSON errors. Light on purpose (no rich import at module level): `ostinato --help` loads it.

Errors always go to stderr: `error: <message>` and indented details, or under --json one
line `{"message": ..., "details": [...]}` (the API's error shape); exit codes are the same.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console

_settings = {"utc": False}


def set_utc(utc: bool) -> None:
    """Show times in UTC (True) or in the local time zone (False, the default)."""
    _settings["utc"] = utc


def instant(text: str | None) -> datetime | None:
    """An ISO-8601 instant (`Z` or an offset; none means UTC), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(text: str | None, *, millis: bool = False) -> str:
    """An instant in the shown zone with its offset: `2026-12-01T07:40:12+01:00` (ISO-8601,
    the same in every command); text that is not an instant is shown as it is."""
    moment = instant(text)
    if moment is None:
        return text or ""
    shown = moment.astimezone(UTC) if _settings["utc"] else moment.astimezone()
    return shown.isoformat(timespec="milliseconds" if millis else "seconds")


def seconds_text(seconds: float) -> str:
    """`850ms`, `12.3s`, `4m05s`, `2h03m`."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def duration(state: dict[str, Any]) -> str:
    """From a JSON state's start to its end (or to now while not ended)."""
    start = instant(state.get("startDate"))
    if start is None:
        return ""
    end = instant(state.get("endDate")) or datetime.now(UTC)
    return seconds_text((end - start).total_seconds())


def console(*, stderr: bool = False) -> Console:
    """A rich console: the terminal's width on a terminal; when piped, lines are never
    hard-wrapped (grep, awk and less see whole lines)."""
    from rich.console import Console

    out = Console(highlight=False, stderr=stderr)
    if not out.is_terminal:
        out.width = 100_000
        out.soft_wrap = True
    return out


def error_json(message: str, details: list[str] | None = None) -> str:
    return json.dumps({"message": message, "details": list(details or [])}, ensure_ascii=False)


def fail(message: str, details: list[str] | None = None, *, as_json: bool = False,
         code: int = 1) -> NoReturn:
    """Print an error on stderr (text or JSON) and exit with `code`."""
    import click

    if as_json:
        click.echo(error_json(message, details), err=True)
    else:
        click.echo(f"error: {message}", err=True)
        for detail in details or []:
            click.echo(f"  {detail}", err=True)
    sys.exit(code)


@contextmanager
def json_errors(as_json: bool) -> Iterator[None]:
    """Under --json, a ClickException raised inside (a bad --input ...) is printed as JSON."""
    import click

    try:
        yield
    except click.ClickException as error:
        if not as_json:
            raise
        fail(error.format_message(), as_json=True, code=error.exit_code)


def dumps(data: Any, *, indent: int | None = None) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=False)


#: what a command that prints data can print: a table (or text) for people, the API's JSON
#: whole, or one JSON document a line (an item of a list, a log line, an execution change)
FORMATS = ("table", "json", "jsonl")


def output_options(json_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`-o/--output table|json|jsonl` and `--json` (the same as `-o json`)."""
    import click

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option("--json", "as_json", is_flag=True,
                            help=f"{json_help} Same as -o json.")(func)
        return click.option("-o", "--output", "output", type=click.Choice(FORMATS),
                            default=None, help="table (the default), json or jsonl "
                            "(one JSON document a line). Errors follow: JSON on stderr "
                            "unless table.")(func)
    return decorate


def output_format(kwargs: dict[str, Any]) -> str:
    """The format `output_options` asked for, taken out of `kwargs`; `kwargs["as_json"]`
    stays, True for json and jsonl (errors are then JSON too)."""
    import click

    chosen, as_json = kwargs.pop("output"), kwargs.get("as_json", False)
    if as_json and chosen == "table":
        raise click.UsageError("--json and -o table disagree: give one of them")
    fmt = chosen or ("json" if as_json else "table")
    kwargs["as_json"] = fmt != "table"
    return fmt


def print_items(items: Iterable[Any], whole: Any, fmt: str) -> bool:
    """Print `whole` (json) or each of `items` on its own line (jsonl); False for table,
    which the command prints itself."""
    import click

    if fmt == "json":
        click.echo(dumps(whole, indent=2))
    elif fmt == "jsonl":
        for item in items:
            click.echo(dumps(item))
    return fmt != "table"
