"""Fixtures of the service tests; the shared session stack (`stack`, `bus`) is in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ostinato.cli.stack import LocalStack
from ostinato.wire.codec import default_codec
from tests.diagnostics import print_service_logs

from ostinato.harness import ServiceRunner


def storage_of(stack: LocalStack) -> Path:
    return stack.storage_dir


@contextmanager
def running(stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """The stack started, then stopped; its service logs printed if the test failed."""
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        print_service_logs(request, stack)


@contextmanager
def watching(stack: LocalStack) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.close()


@pytest.fixture
def fresh_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """A stack of its own (executor and worker), for tests that kill or add processes."""
    with running(LocalStack(data_dir=tmp_path, services=("executor", "worker")), request) as stack:
        yield stack


@pytest.fixture
def fresh_bus(fresh_stack: LocalStack) -> Iterator[ServiceRunner]:
    with watching(fresh_stack) as runner:
        yield runner


@pytest.fixture
def bare_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    """A broker and no service: the test spawns (and kills) the processes it needs."""
    with running(LocalStack(data_dir=tmp_path, services=(), flow_wait=5.0), request) as stack:
        yield stack


@pytest.fixture
def bare_bus(bare_stack: LocalStack) -> Iterator[ServiceRunner]:
    with watching(bare_stack) as runner:
        yield runner
    assert runner.watcher.gaps == []
