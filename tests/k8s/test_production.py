"""deploy/k8s/overlays/production: external Kafka with SASL from a Secret, S3 storage, the
worker autoscaler on consumer lag, the PodMonitor, the NetworkPolicies and the Ingress fit
the services they are for (their validity is tests/test_k8s_manifests.py's)."""

from __future__ import annotations

import pytest

from tests.k8s.objects import (
    configmap, env_of, of_kind, rendered_overlays, secret_ref, selects, the_container, workloads,
)
from tests.k8s.validation import K8S, Doc, kubectl

pytestmark = pytest.mark.skipif(kubectl() is None, reason="kubectl (with kustomize v5) is not installed")

#: what each service talks to, and on which ports (protocol, port)
DNS = {("UDP", 53), ("TCP", 53)}
KAFKA = {("TCP", port) for port in range(9092, 9097)}
HTTPS = {("TCP", 443)}
EGRESS = {"executor": DNS | KAFKA, "scheduler": DNS | KAFKA,
          "worker": DNS | KAFKA | HTTPS, "api": DNS | KAFKA | HTTPS}


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return rendered_overlays()["production"]


def pod_labels(workload: Doc) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def test_kafka_is_external_with_sasl_from_a_secret(docs: list[Doc]) -> None:
    config = configmap(docs)
    assert config["OSTINATO_BOOTSTRAP_SERVERS"]
    assert config["OSTINATO_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["OSTINATO_SASL_MECHANISM"].startswith("SCRAM-")
    assert not any("PASSWORD" in key or "SECRET" in key for key in config), "secrets in a ConfigMap"
    for name, workload in workloads(docs).items():
        container = the_container(workload)
        assert secret_ref(container, "OSTINATO_SASL_USERNAME") == {"name": "ostinato-kafka", "key": "username"}
        if name == "ostinato-worker":  # a root-only file instead (test_worker_isolates_scripts)
            assert "OSTINATO_SASL_PASSWORD" not in env_of(container)
            continue
        assert secret_ref(container, "OSTINATO_SASL_PASSWORD") == {
            "name": "ostinato-kafka", "key": "password", "optional": False}


def test_storage_is_s3_with_credentials_from_a_secret(docs: list[Doc]) -> None:
    assert configmap(docs)["OSTINATO_STORAGE"].startswith("s3://")
    assert "OSTINATO_STORAGE_DIR" not in configmap(docs)
    assert not of_kind(docs, "PersistentVolumeClaim")
    for name, workload in workloads(docs).items():
        env = env_of(the_container(workload))
        mounts = {m["mountPath"] for m in the_container(workload)["volumeMounts"]}
        assert "/storage" not in mounts
        if name in ("ostinato-worker", "ostinato-api"):
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "ostinato-storage", "key": key}
        else:  # the executor and the scheduler never touch internal storage
            assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & env.keys()


def test_workers_scale_on_consumer_lag(docs: list[Doc]) -> None:
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler").values()
    assert hpa["apiVersion"] == "autoscaling/v2"
    worker = workloads(docs)["ostinato-worker"]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == \
        (worker["apiVersion"], worker["kind"], worker["metadata"]["name"])
    assert "replicas" not in worker["spec"], "an apply would reset the autoscaler's count"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] == "ostinato_consumer_lag"
    prefix = configmap(docs)["OSTINATO_TOPIC_PREFIX"]
    assert metric["external"]["metric"]["selector"]["matchLabels"] == {
        "group": prefix + "worker", "topic": prefix + "worker-tasks"}
    assert metric["external"]["target"]["type"] == "AverageValue"
    partitions = int(configmap(docs)["OSTINATO_PARTITIONS"])
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
    readme = (K8S / "README.md").read_text()
    assert "externalRules:" in readme and "ostinato_consumer_lag" in readme


def test_pod_monitor_scrapes_every_service(docs: list[Doc]) -> None:
    (monitor,) = of_kind(docs, "PodMonitor").values()
    assert monitor["metadata"]["namespace"] == "ostinato"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    for name, workload in workloads(docs).items():
        assert selects(monitor["spec"]["selector"], pod_labels(workload)), name
        ports = {p["name"] for p in the_container(workload)["ports"]}
        assert endpoint["port"] in ports, name


def policies(docs: list[Doc], workload: Doc, direction: str) -> list[Doc]:
    """The NetworkPolicies that govern `direction` (Ingress, Egress) of the workload's pods."""
    return [p for p in of_kind(docs, "NetworkPolicy").values()
            if direction in p["spec"]["policyTypes"]
            and selects(p["spec"]["podSelector"], pod_labels(workload))]


def named_port(workload: Doc, port: int | str) -> int:
    """A port number; a name must be one of the pod's ports (KeyError), or it matches nothing."""
    if isinstance(port, int):
        return port
    return {p["name"]: p["containerPort"] for p in the_container(workload)["ports"]}[port]


def allowed_egress(docs: list[Doc], workload: Doc) -> set[tuple[str, int]]:
    allowed = set()
    for policy in policies(docs, workload, "Egress"):
        for rule in policy["spec"].get("egress", []):
            for port in rule["ports"]:
                first = port["port"]
                for number in range(first, port.get("endPort", first) + 1):
                    allowed.add((port.get("protocol", "TCP"), number))
    return allowed


def allowed_ingress(docs: list[Doc], workload: Doc) -> dict[int, set[str]]:
    """container port -> the namespaces allowed to reach it"""
    allowed: dict[int, set[str]] = {}
    for policy in policies(docs, workload, "Ingress"):
        for rule in policy["spec"].get("ingress", []):
            sources = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                       for peer in rule["from"]}
            for port in rule["ports"]:
                allowed.setdefault(named_port(workload, port["port"]), set()).update(sources)
    return allowed


def test_network_policies_deny_by_default_and_allow_what_each_service_needs(docs: list[Doc]) -> None:
    deny = of_kind(docs, "NetworkPolicy")["ostinato-default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    for name, workload in workloads(docs).items():
        component = pod_labels(workload)["app.kubernetes.io/component"]
        assert allowed_egress(docs, workload) == EGRESS[component], name
        expected = {8081: {"monitoring"}}
        if component == "api":
            expected[8080] = {"ingress-nginx"}
        assert allowed_ingress(docs, workload) == expected, name


def test_ingress_routes_to_the_api_service(docs: list[Doc]) -> None:
    (ingress,) = of_kind(docs, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    (tls,) = ingress["spec"]["tls"]
    assert rule["host"] in tls["hosts"]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    service = of_kind(docs, "Service")[backend["name"]]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert service["spec"]["selector"] == workloads(docs)["ostinato-api"]["spec"]["selector"]["matchLabels"]
