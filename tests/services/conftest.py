"""One embedded stack (Tansu + executor + worker processes) for the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ostinato.cli.stack import LocalStack
from ostinato.wire.codec import default_codec

from tests.conformance.corpus import corpus_environment
from ostinato.harness import ServiceRunner


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    envs, globals_ = corpus_environment()
    globals_file = data_dir / "globals.yaml"
    globals_file.write_text(yaml.safe_dump(globals_))
    stack = LocalStack(data_dir=data_dir, services=("executor", "worker", "scheduler"), flow_wait=3.0,
                       env={**envs, "OSTINATO_GLOBALS": str(globals_file)})
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        for name in ("executor", "worker", "scheduler"):
            log = data_dir / "logs" / f"{name}.log"
            if log.exists() and "Traceback" in log.read_text():
                print(f"--- {name} log had a traceback:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def bus(stack: LocalStack) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.watcher.stop()
        assert runner.watcher.gaps == [], f"execution updates missed: {runner.watcher.gaps[:3]}"


def storage_of(stack: LocalStack) -> Path:
    return stack.storage_dir


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own (executor and worker), for tests that kill or add processes."""
    own = LocalStack(data_dir=tmp_path, services=("executor", "worker"))
    own.start()
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture
def fresh_bus(fresh_stack: LocalStack) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(fresh_stack.settings(), default_codec(), fresh_stack.storage_dir)
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.watcher.stop()
