"""Fixtures for the task runner tests: a fixed clock and a sleep that only records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest


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
