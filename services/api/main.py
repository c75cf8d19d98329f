"""Wiring of the API process: the flow table, the view, uvicorn serving the app until a signal."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import uvicorn

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.flow_writer import FlowWriter
from ostinato.kafka.heartbeat import HeartbeatView
from ostinato.kv.store import KvStore
from ostinato.management import Management, StandardMetrics, start_service_thread
from ostinato.storage import open_storage
from ostinato.wire.codec import Codec
from ostinato.services.api.app import create_app
from ostinato.services.api.context import Api, ApiSettings, AsyncProducer
from ostinato.services.api.view import ExecutionView
from ostinato.services.common import serve


def main(kafka: KafkaSettings, codec: Codec, *, host: str, port: int, management_port: int,
         data_dir: Path, storage_dir: Path | str, settings: ApiSettings) -> None:
    # parsing runs on threads beside the event loop: hand the GIL over every 1 ms rather
    # than 5 ms so that the loop (and /health) waits less behind a long parse
    sys.setswitchinterval(0.001)

    def loop(stop: threading.Event, management: Management, metrics: StandardMetrics) -> None:
        heartbeats = HeartbeatView(kafka, codec)
        heartbeats.start()
        flows = FlowTable(kafka, codec)
        flows.start()
        view = ExecutionView(kafka, codec, data_dir, retention=settings.retention,
                             sweep_seconds=settings.retention_sweep)
        view.start()
        kv_store = KvStore(kafka, codec)
        kv_store.start()
        api = Api(kafka=kafka, codec=codec, flows=flows, writer=FlowWriter(kafka, codec, flows),
                  view=view, storage=open_storage(storage_dir), producer=AsyncProducer(kafka),
                  settings=settings)
        server = uvicorn.Server(uvicorn.Config(create_app(api, heartbeats, management, kv_store), host=host, port=port,
                                               log_level="warning", timeout_graceful_shutdown=5,
                                               log_config=None))  # logs through ours (JSON)
        thread = start_service_thread("uvicorn", server.run)
        # ready (in the Service) once the view and the flows have caught up with the topics;
        # not alive (restarted) if the view's reader dies: the answers would go stale
        while not stop.wait(0.1):
            if not thread.is_alive() and not server.started:  # uvicorn could not bind
                raise SystemExit(f"the API cannot listen on {host}:{port} (in use?)")
            if not view.reading:
                management.set_alive(False, "the view's reader stopped (see the log)")
                management.set_ready(False, "the view's reader stopped")
                break
            if api.ready and server.started:
                management.set_ready(True)
        stop.wait()
        server.should_exit = True
        thread.join(timeout=10)
        api.producer.close()
        api.cpu.close()
        api.writer.close()
        view.stop()
        kv_store.close()
        flows.stop()
        heartbeats.stop()

    serve("api", kafka, codec, loop, management_port=management_port)
