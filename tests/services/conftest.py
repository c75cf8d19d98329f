"""Fixtures of the service tests; the shared session stack (`stack`, `bus`) is in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ostinato.cli.stack import LocalStack
from ostinato.wire.codec import default_codec
from tests.diagnostics import print_service_logs

from ostinato.harness import ServiceRunner


def storage_of(stack: LocalStack) -> Path:
    return stack.storage_dir


@pytest.fixture
def fresh_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """A stack of its own (executor and worker), for tests that kill or add processes."""
    own = LocalStack(data_dir=tmp_path, services=("executor", "worker"))
    own.start()
    try:
        yield own
    finally:
        own.stop()
        print_service_logs(request, own)


@pytest.fixture
def fresh_bus(fresh_stack: LocalStack) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(fresh_stack.settings(), default_codec(), fresh_stack.storage_dir)
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture
def bare_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """A broker and no service: the test spawns (and kills) the processes it needs."""
    stack = LocalStack(data_dir=tmp_path, services=(), flow_wait=5.0)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        print_service_logs(request, stack)


@pytest.fixture
def bare_bus(bare_stack: LocalStack) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(bare_stack.settings(), default_codec(), bare_stack.storage_dir)
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.close()
        assert runner.watcher.gaps == []
