"""Fixtures for the task runner tests.

The runners render through `ostinato.expressions`. If that package does not yet export
its API (it is written in parallel), a tiny Jinja2 stand-in is attached to the imported
module for this test session only; nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

import ostinato.expressions as expressions


def _install_shim() -> None:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class ExpressionError(Exception):
        pass

    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)

    def render(template: str, context: Mapping[str, Any]) -> str:
        try:
            return env.from_string(template).render(**context)
        except jinja2.TemplateError as exc:
            raise ExpressionError(f"Unable to render `{template}`: {exc}") from None

    def render_value(value: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            return render(value, context) if "{{" in value or "{%" in value else value
        if isinstance(value, dict):
            return {render_value(k, context): render_value(v, context) for k, v in value.items()}
        if isinstance(value, list):
            return [render_value(v, context) for v in value]
        return value

    def is_truthy(rendered: str | None) -> bool:
        return rendered is not None and rendered.strip().lower() not in ("", "false", "0", "-0")

    for name, obj in {
        "render": render,
        "render_value": render_value,
        "is_truthy": is_truthy,
        "ExpressionError": ExpressionError,
    }.items():
        setattr(expressions, name, obj)


if not all(
    hasattr(expressions, name) for name in ("render", "render_value", "is_truthy", "ExpressionError")
):
    _install_shim()


FIXED_NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeSleep:
    """Records the seconds asked for instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def fixed_clock() -> Any:
    return lambda: FIXED_NOW
