"""Finding things in rendered manifests (lists of objects), for the deploy/k8s tests."""

from __future__ import annotations

import functools
import tomllib
from typing import Any

from tests.k8s.validation import OVERLAYS, REPO, Doc, render

OVERLAY_NAMES = ("local", "production")


@functools.cache
def rendered_overlays() -> dict[str, list[Doc]]:
    """Every overlay, rendered once per test session (treat as read-only: copy to change)."""
    return {name: render(OVERLAYS / name) for name in OVERLAY_NAMES}


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[Doc]) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet")}


def configmap(docs: list[Doc]) -> dict[str, str]:
    data: dict[str, str] = of_kind(docs, "ConfigMap")["ostinato"]["data"]
    return data


def the_container(workload: Doc) -> Doc:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


def secret_ref(container: Doc, name: str) -> Any:
    return env_of(container)[name]["valueFrom"]["secretKeyRef"]


def project_version() -> str:
    version: str = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    return version


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions) selects `labels`."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and value not in values or operator == "NotIn" and value in values:
            return False
        if operator == "Exists" and value is None or operator == "DoesNotExist" and value is not None:
            return False
    return True
