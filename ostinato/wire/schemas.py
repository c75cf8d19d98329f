"""The Avro schemas of the records on the bus, loaded from `schemas/`.

`schemas/<Name>.avsc` holds the current version of each record, one named record per file;
a file may refer to records of other files by name (`"type": "State"`), so that a shared
type (State, TaskRun ...) is written once. `schemas/history/<Name>.v<N>.avsc` holds every
released version, current one included, each expanded (self-contained: every named type
inlined where it is first used), because a writer's schema must be known exactly, by its
fingerprint, for as long as records it wrote may be read.

    python -m ostinato.wire check    # every current schema is a released version
    python -m ostinato.wire freeze   # release the changed ones as history/<Name>.v<N+1>.avsc
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from fastavro import parse_schema
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form

NAMESPACE = "io.ostinato.v1"
#: the environment variable that names the schemas folder when it is not beside the package
SCHEMAS_ENV = "OSTINATO_SCHEMAS_DIR"

PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
_HISTORY_NAME = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[0-9]+)\.avsc$")


class SchemaError(Exception):
    """The schema files are inconsistent (a missing type, a bad file name ...)."""


@dataclass(frozen=True)
class RecordSchema:
    """One version of one record's schema."""

    name: str  #: short name, e.g. "WorkerTask"
    fullname: str  #: e.g. "io.ostinato.v1.WorkerTask"
    schema: dict[str, Any]  #: the expanded (self-contained) schema, as JSON
    parsed: Any  #: fastavro's parsed form
    fingerprint: bytes  #: CRC-64-AVRO of the parsing canonical form, 8 bytes little-endian
    version: int | None = None  #: from history/<Name>.v<N>.avsc; None for a current file
    path: Path | None = None

    @property
    def json(self) -> str:
        return json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False)


def fingerprint_of(schema: dict[str, Any]) -> bytes:
    """Avro's CRC-64-AVRO (Rabin) fingerprint of `schema`, as the 8 bytes that follow the
    single-object-encoding marker (little-endian)."""
    canonical = to_parsing_canonical_form(parse_schema(copy.deepcopy(schema)))
    return bytes.fromhex(_fingerprint(canonical, "CRC-64-AVRO"))


def record_schema(schema: dict[str, Any], *, version: int | None = None,
                  path: Path | None = None) -> RecordSchema:
    """A RecordSchema for an expanded schema."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SchemaError(f"{path or 'schema'}: not an Avro record schema")
    fullname = _fullname(schema["name"], schema.get("namespace", ""))
    return RecordSchema(
        name=fullname.rsplit(".", 1)[-1],
        fullname=fullname,
        schema=schema,
        parsed=parse_schema(copy.deepcopy(schema)),
        fingerprint=fingerprint_of(schema),
        version=version,
        path=path,
    )


def _fullname(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def expand(fullname: str, raw: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schema of record `fullname` with every named type it refers to inlined at its
    first use (later uses stay references by full name): a standalone Avro schema."""
    defined: set[str] = set()

    def walk(node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            name = _fullname(node, namespace)
            if name in defined:
                return name
            if name not in raw:
                raise SchemaError(f"unknown type `{node}` (looked for {name}.avsc)")
            return walk(raw[name], namespace)
        if isinstance(node, list):
            return [walk(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            raise SchemaError(f"not a schema: {node!r}")
        kind = node.get("type")
        out = dict(node)
        if kind in ("record", "error", "enum", "fixed"):
            own_ns = node.get("namespace", namespace) if "." not in node["name"] else \
                node["name"].rsplit(".", 1)[0]
            name = _fullname(node["name"], own_ns)
            if name in defined:
                raise SchemaError(f"type {name} defined twice")
            defined.add(name)
            if kind in ("record", "error"):
                out["fields"] = [
                    {**item, "type": walk(item["type"], own_ns)} for item in node["fields"]
                ]
            return out
        if kind == "array":
            out["items"] = walk(node["items"], namespace)
        elif kind == "map":
            out["values"] = walk(node["values"], namespace)
        elif isinstance(kind, (list, dict)):
            out["type"] = walk(kind, namespace)
        elif isinstance(kind, str) and kind not in PRIMITIVES:
            return walk(kind, namespace)
        return out

    return walk(raw[fullname], "")


def default_schemas_dir() -> Path:
    """The folder named by $OSTINATO_SCHEMAS_DIR, else the schemas the package carries:
    `ostinato/_schemas`, which in a checkout is a symlink to the repository's `schemas/` and
    in an installed wheel a copy of it."""
    env = os.environ.get(SCHEMAS_ENV)
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parent.parent / "_schemas"
    if (packaged / "Execution.avsc").is_file():
        # resolved, so that a checkout names (and `freeze` writes) the repository's schemas/
        return packaged.resolve()
    raise SchemaError(
        f"no schemas found at {packaged} (the package is incomplete: reinstall it); or set "
        f"${SCHEMAS_ENV} to the folder that holds the .avsc files"
    )


def load_raw(directory: Path) -> dict[str, dict[str, Any]]:
    """Every `<Name>.avsc` of `directory` (not its subfolders), by full name."""
    raw: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.avsc")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise SchemaError(f"{path}: invalid JSON: {error}") from None
        if not isinstance(schema, dict) or "name" not in schema:
            raise SchemaError(f"{path}: not a named Avro schema")
        fullname = _fullname(schema["name"], schema.get("namespace", ""))
        if fullname.rsplit(".", 1)[-1] != path.stem:
            raise SchemaError(f"{path}: the file defines {fullname}, expected {path.stem}")
        raw[fullname] = schema
    return raw


def load_current(directory: Path) -> list[RecordSchema]:
    """The current version of every record of `directory`, expanded."""
    raw = load_raw(directory)
    return [
        record_schema(expand(name, raw), path=directory / f"{schema['name']}.avsc")
        for name, schema in raw.items() if schema.get("type") == "record"
    ]


def load_history(directory: Path) -> list[RecordSchema]:
    """Every `<Name>.v<N>.avsc` of `directory` (each self-contained)."""
    out: list[RecordSchema] = []
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.avsc")):
        match = _HISTORY_NAME.match(path.name)
        if match is None:
            raise SchemaError(f"{path}: a history file is named <Name>.v<N>.avsc")
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise SchemaError(f"{path}: invalid JSON: {error}") from None
        record = record_schema(schema, version=int(match["version"]), path=path)
        if record.name != match["name"]:
            raise SchemaError(f"{path}: the file defines {record.fullname}")
        out.append(record)
    return out


class SchemaSet:
    """The current (reader) schema of each record, and every known writer schema by
    fingerprint."""

    def __init__(self, current: Iterable[RecordSchema], writers: Iterable[RecordSchema] = ()):
        self.current: dict[str, RecordSchema] = {}
        self.writers: dict[bytes, RecordSchema] = {}
        for record in current:
            self.current[record.name] = record
            self.current[record.fullname] = record
            self.writers[record.fingerprint] = record
        for record in writers:
            self.writers.setdefault(record.fingerprint, record)

    @classmethod
    def load(cls, directory: Path | None = None, *extra_writers: Path) -> SchemaSet:
        """The schemas of `directory` (default: `default_schemas_dir()`) and of its
        `history/`, plus the writer schemas of `extra_writers` folders (schemas released
        after this code, so that it reads records of newer writers)."""
        directory = directory or default_schemas_dir()
        writers = load_history(directory / "history")
        for extra in extra_writers:
            writers += load_history(extra)
        return cls(load_current(directory), writers)

    def reader(self, name: str) -> RecordSchema | None:
        return self.current.get(name)

    @property
    def names(self) -> list[str]:
        return sorted({record.name for record in self.current.values()})


# ---------------------------------------------------------------- check and freeze


def _released(directory: Path) -> dict[str, list[RecordSchema]]:
    out: dict[str, list[RecordSchema]] = {}
    for record in load_history(directory / "history"):
        out.setdefault(record.name, []).append(record)
    for versions in out.values():
        versions.sort(key=lambda r: r.version or 0)
    return out


def unreleased(directory: Path) -> list[tuple[RecordSchema, int]]:
    """Current schemas whose exact form is not the latest released version, each with the
    version it would be released as."""
    released = _released(directory)
    out = []
    for record in load_current(directory):
        versions = released.get(record.name, [])
        if versions and versions[-1].fingerprint == record.fingerprint:
            continue
        out.append((record, (versions[-1].version or 0) + 1 if versions else 1))
    return out


def freeze(directory: Path) -> list[Path]:
    """Write history/<Name>.v<N>.avsc for every changed current schema."""
    written = []
    (directory / "history").mkdir(exist_ok=True)
    for record, version in unreleased(directory):
        path = directory / "history" / f"{record.name}.v{version}.avsc"
        path.write_text(json.dumps(record.schema, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written
