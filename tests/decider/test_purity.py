"""Invariant 1: the decider imports no Kafka, no RocksDB and reads no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import ostinato.decider

FORBIDDEN_MODULES = {"confluent_kafka", "rocksdict", "fastapi", "time", "httpx", "socket"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic"}


def _decider_sources() -> list[Path]:
    return sorted(Path(ostinato.decider.__file__).parent.rglob("*.py"))


def test_decider_imports_no_io_module() -> None:
    offenders = []
    for path in _decider_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    assert offenders == []


def test_decider_reads_no_clock() -> None:
    offenders = []
    for path in _decider_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in FORBIDDEN_CALLS:
                    offenders.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
    assert offenders == []
