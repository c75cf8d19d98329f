"""Render deploy/k8s overlays and validate what they produce, strictly.

- Built-in kinds against the Kubernetes OpenAPI schemas that `kubernetes-validate` ships, in
  their strict form (an unknown field is an error, as `kubectl apply --validate=strict`).
- Custom resources (Strimzi's KafkaTopic, the Prometheus Operator's PodMonitor) against
  the openAPIV3Schema of their CRD (tests/k8s/crds/), made strict the way the API server
  treats a structural schema: a field the schema does not declare is an error, except under
  `x-kubernetes-preserve-unknown-fields`. `metadata` is checked as a Kubernetes ObjectMeta.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = K8S / "overlays"
CRDS = Path(__file__).resolve().parent / "crds"

#: the Kubernetes versions the manifests are checked against: the oldest supported (Strimzi
#: 1.x's floor) and the newest `kubernetes-validate` ships; README.md says the same
KUBERNETES_VERSIONS = ("1.30", "1.37")
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

Doc = dict[str, Any]


class InvalidManifest(Exception):
    """An object that the API server would reject, with where and why."""


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(path: Path) -> list[Doc]:
    """`kubectl kustomize path`: the objects an `apply -k` would send (no cluster needed)."""
    exe = kubectl()
    assert exe is not None, "kubectl is not installed"
    result = subprocess.run([exe, "kustomize", str(path)], capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0:
        raise InvalidManifest(f"kubectl kustomize {path} failed (the manifests need kustomize v5: "
                              f"`kubectl version --client` shows yours): {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d is not None]


def name_of(doc: Doc) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('apiVersion')} {doc.get('kind')} {meta.get('namespace', '-')}/{meta.get('name')}"


def _error_text(doc: Doc, error: jsonschema.ValidationError, where: str) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{name_of(doc)} is invalid against {where}: at {path}: {error.message}"


# ------------------------------------------------------------------- built-in kinds

def _schema_dir(version: str) -> Any:
    return resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{version}.0-local-strict")


@functools.cache
def _definitions(version: str) -> Doc:
    text = _schema_dir(version).joinpath("_definitions.json").read_text()
    data: Doc = json.loads(text)
    return data


@functools.cache
def _registry(version: str) -> referencing.Registry[Any]:
    definitions = referencing.Resource.from_contents(_definitions(version))
    return definitions @ referencing.Registry()


@functools.cache
def _builtin_validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    # kubernetes-validate's file names: apps/v1 -> apps-v1, rbac.authorization.k8s.io/v1 -> rbac-v1
    group_version = api_version
    if "/" in api_version:
        group, _, api = api_version.partition("/")
        group_version = f"{group.split('.')[0]}-{api}"
    schema_file = _schema_dir(version).joinpath(f"{kind.lower()}-{group_version}.json")
    if not schema_file.is_file():
        raise InvalidManifest(f"Kubernetes {version} has no {api_version} {kind}")
    schema = json.loads(schema_file.read_text())
    return jsonschema.Draft202012Validator(schema, registry=_registry(version))


def validate_builtin(doc: Doc, version: str) -> None:
    validator = _builtin_validator(version, doc["kind"], doc["apiVersion"])
    for error in validator.iter_errors(doc):
        raise InvalidManifest(_error_text(doc, error, f"Kubernetes {version}"))


# ------------------------------------------------------------------- custom resources

def _strict(schema: Any) -> Any:
    """A copy of an openAPIV3Schema where undeclared fields are errors."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    preserves = schema.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in schema and "additionalProperties" not in schema and not preserves:
        out["additionalProperties"] = False
    return out


@functools.cache
def _crds() -> dict[tuple[str, str], Doc]:
    """(group, kind) -> the CRD, from tests/k8s/crds/."""
    found: dict[tuple[str, str], Doc] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                found[(crd["spec"]["group"], crd["spec"]["names"]["kind"])] = crd
    return found


def crd_kinds() -> set[tuple[str, str]]:
    return set(_crds())


@functools.cache
def _crd_validator(group: str, kind: str, version: str) -> jsonschema.Draft202012Validator:
    crd = _crds()[(group, kind)]
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        raise InvalidManifest(f"{group}/{version} {kind} is not served by the CRD "
                              f"{crd['metadata']['name']} (it serves: {', '.join(sorted(served))})")
    schema = _strict(served[version]["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {
        "$ref": f"https://kubernetes.io/api/_definitions.json#/$defs/{OBJECT_META}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry(KUBERNETES_VERSIONS[-1]))


def is_custom(doc: Doc) -> bool:
    group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
    return (group, doc["kind"]) in _crds()


def validate_custom(doc: Doc) -> None:
    group, version = doc["apiVersion"].split("/")
    validator = _crd_validator(group, doc["kind"], version)
    for error in validator.iter_errors(doc):
        raise InvalidManifest(_error_text(doc, error, f"the {doc['kind']} CRD"))


def validate(doc: Doc) -> None:
    """Raise InvalidManifest when any supported Kubernetes version (or the CRD) rejects it."""
    if is_custom(doc):
        validate_custom(doc)
        return
    for version in KUBERNETES_VERSIONS:
        validate_builtin(doc, version)


def containers(doc: Doc) -> Iterator[Doc]:
    """The containers of a workload's pod template."""
    pod = doc["spec"]["template"]["spec"]
    yield from pod.get("initContainers", [])
    yield from pod["containers"]
