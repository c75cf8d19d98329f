"""deploy/k8s/: every manifest parses and has the shape the services need.

No cluster here: this checks structure (kinds, probes, ports, topics), not that the
resources apply.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ostinato.kafka.config import TOPIC_POLICIES
from ostinato.kafka.topics import _ONE_PARTITION

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"
IMAGE = "ghcr.io/ostinato/ostinato:latest"
MANAGEMENT_PORT = 8081

EXPECTED_KINDS = {
    "namespace.yaml": ["Namespace"],
    "configmap.yaml": ["ConfigMap"],
    "topics.yaml": ["KafkaTopic"] * len(TOPIC_POLICIES),
    "storage-pvc.yaml": ["PersistentVolumeClaim"],
    "executor.yaml": ["Service", "StatefulSet"],
    "worker.yaml": ["Deployment"],
    "scheduler.yaml": ["Deployment"],
    "api.yaml": ["Service", "Deployment"],
    "pdb.yaml": ["PodDisruptionBudget"] * 4,
}


def load(name: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((K8S / name).read_text()) if d is not None]
    assert all(isinstance(d, dict) for d in docs), name
    return docs


def kustomization() -> dict[str, Any]:
    data = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(data, dict)
    return data


def configmap() -> dict[str, str]:
    (doc,) = load("configmap.yaml")
    data = doc["data"]
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings"
    return data  # type: ignore[no-any-return]


def workloads() -> dict[str, dict[str, Any]]:
    out = {}
    for name in ("executor.yaml", "worker.yaml", "scheduler.yaml", "api.yaml"):
        for doc in load(name):
            if doc["kind"] in ("Deployment", "StatefulSet"):
                out[doc["metadata"]["name"]] = doc
    return out


def test_every_yaml_file_parses() -> None:
    files = sorted(K8S.glob("*.yaml"))
    assert files
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs, path.name
        for doc in docs:
            assert isinstance(doc, dict), path.name
            if path.name != "kustomization.yaml":
                assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"]["name"], path.name


def test_kustomization_lists_every_manifest() -> None:
    resources = kustomization()["resources"]
    assert sorted(resources) == sorted(EXPECTED_KINDS)
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == set(resources)


@pytest.mark.parametrize("name", sorted(EXPECTED_KINDS))
def test_kinds(name: str) -> None:
    assert [d["kind"] for d in load(name)] == EXPECTED_KINDS[name]


def test_namespaces() -> None:
    for name in EXPECTED_KINDS:
        for doc in load(name):
            if doc["kind"] == "Namespace":
                assert doc["metadata"]["name"] == "ostinato"
            elif doc["kind"] == "KafkaTopic":
                assert doc["metadata"]["namespace"] == "kafka"  # the Topic Operator's
            else:
                assert doc["metadata"]["namespace"] == "ostinato", (name, doc["metadata"]["name"])


def test_configmap() -> None:
    data = configmap()
    assert data["OSTINATO_BOOTSTRAP_SERVERS"] == "my-cluster-kafka-bootstrap.kafka:9092"
    assert data["OSTINATO_TOPIC_PREFIX"] == "ostinato."
    assert data["OSTINATO_LOG_FORMAT"] == "json"
    assert data["OSTINATO_PARTITIONS"] == "12"
    assert data["OSTINATO_MANAGEMENT_PORT"] == str(MANAGEMENT_PORT)
    assert all(key.startswith("OSTINATO_") for key in data)


def test_topics_match_topic_policies() -> None:
    prefix = configmap()["OSTINATO_TOPIC_PREFIX"]
    partitions = int(configmap()["OSTINATO_PARTITIONS"])
    topics = {d["spec"]["topicName"]: d for d in load("topics.yaml")}
    assert set(topics) == {prefix + name for name in TOPIC_POLICIES}
    for name, (policy, retention) in TOPIC_POLICIES.items():
        doc = topics[prefix + name]
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "my-cluster"
        expected = 1 if name in _ONE_PARTITION else partitions
        assert doc["spec"]["partitions"] == expected, name
        config = doc["spec"]["config"]
        assert config["cleanup.policy"] == policy, name
        if retention is None:
            assert "retention.ms" not in config, name
        else:
            assert int(config["retention.ms"]) == retention, name
    assert topics[prefix + "executor"]["spec"]["partitions"] == \
        topics[prefix + "executor-changelog"]["spec"]["partitions"]


def test_workloads() -> None:
    found = workloads()
    assert set(found) == {"ostinato-executor", "ostinato-worker", "ostinato-scheduler", "ostinato-api"}
    executor = found["ostinato-executor"]
    assert executor["kind"] == "StatefulSet"
    assert executor["spec"]["replicas"] == 3
    assert executor["spec"]["podManagementPolicy"] == "Parallel"
    assert executor["spec"]["serviceName"] == "ostinato-executor"
    (claim,) = executor["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert found["ostinato-worker"]["spec"]["replicas"] == 2
    assert found["ostinato-scheduler"]["spec"]["replicas"] == 2
    assert found["ostinato-api"]["spec"]["replicas"] == 2

    def command(name: str) -> list[str]:
        (container,) = found[name]["spec"]["template"]["spec"]["containers"]
        return [*container["command"], *container["args"]]

    assert command("ostinato-executor") == ["ostinato", "executor", "--data-dir", "/data"]
    assert command("ostinato-worker") == ["ostinato", "worker", "--slots", "8", "--storage-dir", "/storage"]
    assert command("ostinato-scheduler") == ["ostinato", "scheduler", "--data-dir", "/data"]
    assert command("ostinato-api") == ["ostinato", "api", "--host", "0.0.0.0", "--port", "8080",
                                       "--data-dir", "/data", "--storage-dir", "/storage"]


def test_selectors_match_template_labels() -> None:
    for name, doc in workloads().items():
        selector = doc["spec"]["selector"]["matchLabels"]
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name


@pytest.mark.parametrize("workload", ["ostinato-executor", "ostinato-worker", "ostinato-scheduler", "ostinato-api"])
def test_every_container(workload: str) -> None:
    doc = workloads()[workload]
    template = doc["spec"]["template"]
    pod = template["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    # the worker alone runs as root, to run scripts as another user (test_worker_isolates_scripts)
    assert pod["securityContext"]["runAsNonRoot"] is (workload != "ostinato-worker")
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(MANAGEMENT_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in doc["spec"].get("volumeClaimTemplates", [])}
    for container in pod["containers"]:
        assert container["image"] == IMAGE
        assert {"configMapRef": {"name": "ostinato"}} in container["envFrom"]
        env = {e["name"]: e for e in container.get("env", [])}
        if workload != "ostinato-worker":  # the worker reads it from a file
            secret = env["OSTINATO_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert secret == {"name": "ostinato-kafka", "key": "password", "optional": True}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["management"] == MANAGEMENT_PORT
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (workload, probe)
            assert get["port"] in ("management", MANAGEMENT_PORT), (workload, probe)
        assert {"requests", "limits"} <= container["resources"].keys()
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= container["resources"][kind].keys()
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        if security.get("readOnlyRootFilesystem"):
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes or mount["name"] in claims, (workload, mount)


def test_worker_isolates_scripts() -> None:
    """Scripts run as another user and the Kafka password is a root-only file, never in
    the worker's environment (a script could read /proc/<worker pid>/environ otherwise)."""
    pod = workloads()["ostinato-worker"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert "OSTINATO_SASL_PASSWORD" not in env
    assert env["OSTINATO_SCRIPT_USER"] == "ostinato-script"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["OSTINATO_SASL_PASSWORD_FILE"].startswith(mounts["kafka-password"] + "/")
    volume = {v["name"]: v for v in pod["volumes"]}["kafka-password"]["secret"]
    assert volume["secretName"] == "ostinato-kafka" and volume["defaultMode"] == 0o400
    security = container["securityContext"]
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(security["capabilities"]["add"]) <= {"SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE",
                                                    "FOWNER", "KILL"}
    assert security["readOnlyRootFilesystem"] is True
    assert "ostinato-script" in (K8S / "Dockerfile").read_text()
    namespace = load("namespace.yaml")[0]["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "baseline"
    assert namespace["pod-security.kubernetes.io/warn"] == "restricted"


def test_worker_and_api_share_the_storage_claim() -> None:
    (pvc,) = load("storage-pvc.yaml")
    assert pvc["metadata"]["name"] == "ostinato-storage"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    for workload in ("ostinato-worker", "ostinato-api"):
        pod = workloads()[workload]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert volumes[mounts["/storage"]]["persistentVolumeClaim"]["claimName"] == "ostinato-storage"


def test_services_point_at_named_ports() -> None:
    api_service, _ = load("api.yaml")
    (port,) = api_service["spec"]["ports"]
    assert port["port"] == 8080 and port["targetPort"] == "http"
    assert api_service["spec"]["selector"] == workloads()["ostinato-api"]["spec"]["selector"]["matchLabels"]
    (api_container,) = workloads()["ostinato-api"]["spec"]["template"]["spec"]["containers"]
    assert {"name": "http", "containerPort": 8080} in api_container["ports"]
    executor_service, _ = load("executor.yaml")
    assert executor_service["spec"]["clusterIP"] == "None"
    assert executor_service["spec"]["selector"] == \
        workloads()["ostinato-executor"]["spec"]["selector"]["matchLabels"]


def test_pdbs_select_workloads() -> None:
    selectors = [w["spec"]["selector"]["matchLabels"] for w in workloads().values()]
    for pdb in load("pdb.yaml"):
        assert pdb["spec"]["selector"]["matchLabels"] in selectors


def test_dockerfile() -> None:
    text = (K8S / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert 'ENTRYPOINT ["ostinato"]' in text
    assert "USER 10001" in text
    assert "OSTINATO_SCHEMAS_DIR" not in text  # the wheel carries the schemas


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_build() -> None:
    """`kubectl kustomize` (client side, no cluster) renders every resource."""
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
    expected = sorted(kind for kinds in EXPECTED_KINDS.values() for kind in kinds)
    assert sorted(d["kind"] for d in docs) == expected
    for doc in docs:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "ostinato"
