"""An embedded stack: the Tansu broker and ostinato's services as separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ostinato.broker import EmbeddedBroker
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.topics import ensure_all_topics

SERVICES = ("executor", "worker", "scheduler", "api")


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class LocalStack:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    data_dir: Path
    services: tuple[str, ...] = ("executor", "worker")
    broker_port: int | None = None
    api_port: int = 8080
    #: None: each service logs to DATA_DIR/logs/<name>.log; else this stream (`ostinato local`)
    log_stream: IO[bytes] | None = None
    session_timeout_ms: int = 3000
    flow_wait: float = 30.0
    worker_slots: int = 8
    #: extra environment for the service processes (KESTRA_ variables, OSTINATO_GLOBALS ...)
    env: dict[str, str] = field(default_factory=dict)
    processes: list[ServiceProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.broker = EmbeddedBroker(port=self.broker_port)

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    def settings(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers,
                             session_timeout_ms=self.session_timeout_ms)

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        ensure_all_topics(self.settings())
        for name in self.services:
            self.spawn(name)

    def spawn(self, name: str, *, instance: str = "", extra: list[str] | None = None,
              env: dict[str, str] | None = None) -> ServiceProcess:
        """Start one more service process (`instance` names its data dir and log file; `env`
        adds to the stack's environment for this process only)."""
        service = self._spawn(name, instance, list(extra or []), dict(env or {}))
        self.processes.append(service)
        return service

    def _spawn(self, name: str, instance: str, extra: list[str], own_env: dict[str, str]) -> ServiceProcess:
        label = name + (f"-{instance}" if instance else "")
        command = [sys.executable, "-m", "ostinato", name]
        if name == "executor":
            command += ["--data-dir", str(self.data_dir / label), "--flow-wait", str(self.flow_wait)]
        if name == "worker":
            command += ["--data-dir", str(self.data_dir / label),
                        "--storage-dir", str(self.storage_dir), "--slots", str(self.worker_slots)]
        if name == "scheduler":
            command += ["--data-dir", str(self.data_dir / label)]
        if name == "api":
            command += ["--port", str(self.api_port), "--data-dir", str(self.data_dir / label),
                        "--storage-dir", str(self.storage_dir)]
        command += extra  # last: an option given here wins over the defaults above
        env = {**os.environ, **self.env, **own_env,
               "OSTINATO_BOOTSTRAP_SERVERS": self.bootstrap_servers,
               "OSTINATO_SESSION_TIMEOUT_MS": str(self.session_timeout_ms),
               "OSTINATO_MANAGEMENT_PORT": "0",  # several services on one machine
               "OSTINATO_LOG_FORMAT": "console" if self.log_stream is not None else "json"}
        log_path = None
        if self.log_stream is None:
            log_path = self.data_dir / "logs" / f"{label}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output: IO[bytes] | int = log_path.open("ab")
        else:
            output = self.log_stream
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        return ServiceProcess(label, process, log_path)

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    def stop(self, timeout: float = 15.0) -> None:
        for service in self.processes:
            if service.alive():
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for service in self.processes:
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                service.process.wait(remaining)
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait(5)
        self.processes.clear()
        self.broker.stop()

    def dead_services(self) -> list[str]:
        return [s.name for s in self.processes if not s.alive()]

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
