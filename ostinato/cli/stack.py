"""An embedded stack: the Tansu broker and ostinato's services as separate processes.

`durable=True` (`ostinato local`) makes the data directory outlive the in-memory broker:
the state topics are archived while the stack runs and re-produced into the fresh broker at
the next start (`ostinato.broker.persistence`), and the services' local stores, whose
offsets belonged to the old broker, are discarded so that each service rebuilds from the
restored topics. `supervise()` restarts a service that died, with back-off, as Kubernetes
would restart a pod; a dead broker restarts everything (through the same restore).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ostinato.broker import EmbeddedBroker
from ostinato.broker.persistence import TopicKeeper, restore_topics
from ostinato.broker.embedded import die_with_parent
from ostinato.cli.ports import check_free
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.topics import ensure_all_topics

SERVICES = ("executor", "worker", "scheduler", "api")
#: the services whose data dir holds a store of offsets into the broker's topics
_STORES_OF_OFFSETS = ("executor", "scheduler", "api")
#: a service that died this many times within `_CRASH_WINDOW` seconds stops the stack
_MAX_RESTARTS, _CRASH_WINDOW = 5, 120.0
_BACKOFF_FIRST, _BACKOFF_MAX = 1.0, 30.0


class ServiceKeepsDying(RuntimeError):
    """A service died too often in a short time: restarting it again would only hide that."""


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None
    #: how to start it again: (service, instance, extra arguments, own environment)
    recipe: tuple[str, str, list[str], dict[str, str]] = ("", "", [], {})
    #: when it died (monotonic), for the back-off and the give-up rule
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None

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
    #: keep the state topics in DATA_DIR/topics across restarts (`ostinato local`)
    durable: bool = False
    #: each service runs once and takes its partitions without a group join (`ostinato run`)
    standalone: bool = False
    processes: list[ServiceProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a durable stack (`ostinato local`) takes its processes down with it when killed:
        # orphans would hold its ports and write to a broker no keeper follows
        self.broker = EmbeddedBroker(port=self.broker_port, die_with_parent=self.durable)
        self.keeper: TopicKeeper | None = None

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    def settings(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers,
                             session_timeout_ms=self.session_timeout_ms, broker_profile="embedded")

    def start(self) -> None:
        """Start the broker, restore the kept topics (durable), then the services. Raises
        PortInUse (naming the port and its holder) when the API's port is taken."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if "api" in self.services:
            check_free(self.api_port)
        self._start_broker()
        for name in self.services:
            self.spawn(name)

    def _start_broker(self) -> None:
        self.broker.start()
        ensure_all_topics(self.settings())
        if self.durable:
            self._forget_offsets_of_old_broker()
            ends = restore_topics(self.settings(), self.data_dir)
            self.keeper = TopicKeeper(self.settings(), self.data_dir, ends)
            self.keeper.start()

    def _forget_offsets_of_old_broker(self) -> None:
        """The services' stores hold offsets of a broker that is gone (the restored topics
        have other offsets): drop them, so each service rebuilds from the topics."""
        for name in _STORES_OF_OFFSETS:
            for directory in self.data_dir.glob(f"{name}*"):
                if directory.is_dir() and (directory.name == name or directory.name.startswith(f"{name}-")):
                    shutil.rmtree(directory, ignore_errors=True)

    def spawn(self, name: str, *, instance: str = "", extra: list[str] | None = None,
              env: dict[str, str] | None = None) -> ServiceProcess:
        """Start one more service process (`instance` names its data dir and log file; `env`
        adds to the stack's environment for this process only)."""
        service = self._spawn(name, instance, list(extra or []), dict(env or {}))
        service.recipe = (name, instance, list(extra or []), dict(env or {}))
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
               "OSTINATO_BROKER_PROFILE": "embedded",  # Tansu: short fetch waits (config.py)
               "OSTINATO_MANAGEMENT_PORT": "0",  # several services on one machine
               "OSTINATO_STANDALONE": "1" if self.standalone else "",
               "OSTINATO_LOG_FORMAT": "console" if self.log_stream is not None else "json"}
        log_path = None
        if self.log_stream is None:
            log_path = self.data_dir / "logs" / f"{label}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output: IO[bytes] | int = log_path.open("ab")
        else:
            output = self.log_stream
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True,
                                   preexec_fn=die_with_parent if self.durable else None)
        return ServiceProcess(label, process, log_path)

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the services (SIGTERM, then SIGKILL), let the keeper archive the last
        records, then stop the broker."""
        self._stop_services(timeout)
        self._stop_broker()

    def _stop_broker(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None
        # the services are stopped and what is kept is archived: nothing left for a graceful
        # stop to save (the broker keeps topics in memory), so no wait for one
        self.broker.stop(timeout=0.0)

    def _stop_services(self, timeout: float) -> None:
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

    def dead_services(self) -> list[str]:
        return [s.name for s in self.processes if not s.alive()]

    def supervise(self, now: float | None = None) -> list[str]:
        """Restart what died, as Kubernetes would: a dead service after a back-off (1 s,
        doubling to 30 s), a dead broker with every service (the kept topics restored).
        Returns what it did, one line per event. Raises ServiceKeepsDying when a service
        died `_MAX_RESTARTS` times within `_CRASH_WINDOW` seconds."""
        now = time.monotonic() if now is None else now
        if not self.broker.alive():
            return self._restart_everything()
        events = self._restart_keeper_if_dead()
        for index, service in enumerate(self.processes):
            if service.alive():
                continue
            if service.restart_at is None:
                events.append(self._schedule_restart(service, now))
            elif now >= service.restart_at:
                self.processes[index] = self._respawn(service)
                events.append(f"{service.name} restarted (restart {len(service.deaths)})")
        return events

    def _restart_keeper_if_dead(self) -> list[str]:
        keeper = self.keeper
        if keeper is None or not keeper.dead:
            return []
        self.keeper = TopicKeeper(self.settings(), self.data_dir, keeper.positions)
        self.keeper.start()
        return [f"the topic keeper stopped ({keeper.failed!r}); started again where it was"]

    def _schedule_restart(self, service: ServiceProcess, now: float) -> str:
        service.deaths = [t for t in service.deaths if now - t < _CRASH_WINDOW] + [now]
        code = service.process.returncode
        if len(service.deaths) > _MAX_RESTARTS:
            raise ServiceKeepsDying(f"{service.name} died {len(service.deaths)} times within "
                                    f"{_CRASH_WINDOW:.0f} s (last exit status {code})")
        delay = min(_BACKOFF_FIRST * 2 ** (len(service.deaths) - 1), _BACKOFF_MAX)
        service.restart_at = now + delay
        return f"{service.name} exited with status {code}; restarting in {delay:.0f} s"

    def _respawn(self, dead: ServiceProcess) -> ServiceProcess:
        name, instance, extra, own_env = dead.recipe
        fresh = self._spawn(name, instance, extra, own_env)
        fresh.recipe, fresh.deaths = dead.recipe, dead.deaths
        return fresh

    def _restart_everything(self) -> list[str]:
        recipes = [service.recipe for service in self.processes]
        self._stop_services(10.0)
        self._stop_broker()
        self._start_broker()
        for name, instance, extra, own_env in recipes:
            self.spawn(name, instance=instance, extra=extra, env=own_env)
        return ["the broker died: restarted it and every service (kept topics restored)"]

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
