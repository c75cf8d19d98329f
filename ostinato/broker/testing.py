"""One embedded broker per test session, shared by every test that needs Kafka.

`broker_for_tests()` starts the broker on first call and returns the same running
`EmbeddedBroker` afterwards (restarting it, on a new port, if it died); it is stopped when
the interpreter exits (an `atexit` hook), or by `stop_broker_for_tests()`. It is a plain
function, not a pytest fixture, so any conftest (or a benchmark) can wrap it:

```python
# tests/<area>/conftest.py
import pytest
from ostinato.broker.testing import broker_for_tests

@pytest.fixture(scope="session")
def kafka() -> str:
    return broker_for_tests().bootstrap_servers
```

Tests sharing one broker must not share names: give every topic and consumer group a
unique suffix (`unique_name("executor")`), because the broker keeps everything in memory
for the whole session and never deletes it.

To let the same tests run against a real cluster, a conftest can use
`bootstrap_servers_for_tests()` instead: it returns `$OSTINATO_TEST_BOOTSTRAP_SERVERS` when
set (no embedded broker is started) and the embedded broker's address otherwise. Tests
that need the process itself (kill it, read its log) call `broker_for_tests()`.
`$OSTINATO_TEST_BROKER_LOG` keeps the broker's log in that file rather than a temporary one.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

from ostinato.broker.embedded import EmbeddedBroker

__all__ = ["bootstrap_servers_for_tests", "broker_for_tests", "stop_broker_for_tests", "unique_name"]

ENV_BOOTSTRAP = "OSTINATO_TEST_BOOTSTRAP_SERVERS"
ENV_LOG = "OSTINATO_TEST_BROKER_LOG"  # keep the broker's log in this file

_lock = threading.Lock()
_broker: EmbeddedBroker | None = None


def broker_for_tests(*, timeout: float = 30.0) -> EmbeddedBroker:
    """The session's embedded broker, started on first use (thread-safe)."""
    global _broker
    with _lock:
        if _broker is None or not _broker.alive():
            if _broker is not None:
                _broker.stop()
            log = os.environ.get(ENV_LOG)
            broker = EmbeddedBroker(log_file=Path(log) if log else None)
            broker.start(timeout=timeout)
            _broker = broker
        return _broker


def bootstrap_servers_for_tests() -> str:
    """`$OSTINATO_TEST_BOOTSTRAP_SERVERS` when set (a real cluster), else the embedded broker's."""
    return os.environ.get(ENV_BOOTSTRAP) or broker_for_tests().bootstrap_servers


def stop_broker_for_tests() -> None:
    global _broker
    with _lock:
        if _broker is not None:
            _broker.stop()
            _broker = None


def unique_name(prefix: str) -> str:
    """`prefix` plus a random suffix, for topics and consumer groups on a shared broker."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
