"""deploy/k8s/: every overlay renders (`kubectl kustomize`), every object it renders is valid
against the Kubernetes schemas and the CRDs (strictly: tests/k8s/validation.py), and the
objects fit together and with the code (topics, image version, ports, selectors, secrets).

No cluster: this proves what `kubectl apply --validate=strict` would accept, not that the
services run (the other tests run them).
"""

from __future__ import annotations

import copy

import pytest

from ostinato.kafka.config import TOPIC_POLICIES
from ostinato.kafka.topics import _ONE_PARTITION
from tests.k8s.objects import (
    OVERLAY_NAMES, configmap, env_of, of_kind, project_version, rendered_overlays, the_container,
    workloads,
)
from tests.k8s.validation import (
    K8S, KUBERNETES_VERSIONS, OVERLAYS, Doc, InvalidManifest, containers, crd_kinds, kubectl,
    render, validate,
)

pytestmark = pytest.mark.skipif(
    kubectl() is None,
    reason="kubectl (with kustomize v5) is not installed: "
           "https://kubernetes.io/docs/tasks/tools/ (the CI image has it)")

IMAGE = "ghcr.io/ostinato/ostinato"
MANAGEMENT_PORT = 8081
WORKLOADS = {"ostinato-executor": "StatefulSet", "ostinato-worker": "StatefulSet",
             "ostinato-scheduler": "Deployment", "ostinato-api": "Deployment"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Doc]]:
    return rendered_overlays()


# ------------------------------------------------------------------- rendering, validity

def test_every_overlay_is_tested() -> None:
    on_disk = {p.parent.name for p in OVERLAYS.glob("*/kustomization.yaml")}
    assert on_disk == set(OVERLAY_NAMES)


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_every_object_is_valid(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    assert docs
    problems = []
    for doc in docs:
        try:
            validate(doc)
        except InvalidManifest as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


def test_base_renders_valid_objects() -> None:
    for doc in render(K8S / "base"):
        validate(doc)


def test_validation_rejects_an_unknown_field_in_a_deployment(rendered: dict[str, list[Doc]]) -> None:
    api = copy.deepcopy(workloads(rendered["production"])["ostinato-api"])
    api["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    with pytest.raises(InvalidManifest, match="imagePulPolicy"):
        validate(api)
    api = copy.deepcopy(workloads(rendered["production"])["ostinato-api"])
    api["spec"]["replicas"] = "two"
    with pytest.raises(InvalidManifest, match="spec.replicas"):
        validate(api)


def test_validation_rejects_kafka_topic_v1beta2_and_unknown_fields(rendered: dict[str, list[Doc]]) -> None:
    topic = next(iter(of_kind(rendered["production"], "KafkaTopic").values()))
    old = copy.deepcopy(topic)
    old["apiVersion"] = "kafka.strimzi.io/v1beta2"  # removed by Strimzi 1.0
    with pytest.raises(InvalidManifest, match="not served"):
        validate(old)
    typo = copy.deepcopy(topic)
    typo["spec"]["replica"] = 3
    with pytest.raises(InvalidManifest, match="replica"):
        validate(typo)
    meta = copy.deepcopy(topic)
    meta["metadata"]["label"] = {}
    with pytest.raises(InvalidManifest, match="metadata"):
        validate(meta)
    # the topic's `config` is free-form in the CRD (x-kubernetes-preserve-unknown-fields)
    free = copy.deepcopy(topic)
    free["spec"]["config"]["segment.bytes"] = 1 << 30
    validate(free)


def test_validation_rejects_an_unknown_field_in_a_pod_monitor(rendered: dict[str, list[Doc]]) -> None:
    monitor = copy.deepcopy(of_kind(rendered["production"], "PodMonitor")["ostinato"])
    monitor["spec"]["podMetricsEndpoints"][0]["scrapeInterval"] = "30s"
    with pytest.raises(InvalidManifest, match="scrapeInterval"):
        validate(monitor)


def test_custom_resources_have_their_crd(rendered: dict[str, list[Doc]]) -> None:
    kinds = {(d["apiVersion"].split("/")[0], d["kind"]) for docs in rendered.values() for d in docs
             if "." in d["apiVersion"].split("/")[0] and not d["apiVersion"].startswith(
                 ("apps/", "policy/", "autoscaling/", "networking.k8s.io/"))}
    assert kinds == {("kafka.strimzi.io", "KafkaTopic"), ("monitoring.coreos.com", "PodMonitor")}
    assert kinds <= crd_kinds()


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_every_object_is_labelled(rendered: dict[str, list[Doc]], overlay: str) -> None:
    for doc in rendered[overlay]:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "ostinato", doc["metadata"]


def test_image_is_pinned_to_the_project_version(rendered: dict[str, list[Doc]]) -> None:
    expected = f"{IMAGE}:{project_version()}"
    for docs in rendered.values():
        for workload in workloads(docs).values():
            for container in containers(workload):
                assert container["image"] == expected
    for path in K8S.rglob("*.yaml"):
        assert ":latest" not in path.read_text(), path


# ------------------------------------------------------------------- topics

@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_topics_match_topic_policies(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    prefix = configmap(docs)["OSTINATO_TOPIC_PREFIX"]
    partitions = int(configmap(docs)["OSTINATO_PARTITIONS"])
    topics = {d["spec"]["topicName"]: d for d in of_kind(docs, "KafkaTopic").values()}
    assert set(topics) == {prefix + name for name in TOPIC_POLICIES}
    replicas = {"local": 1, "production": 3}[overlay]
    for name, (policy, retention) in TOPIC_POLICIES.items():
        doc = topics[prefix + name]
        assert doc["apiVersion"] == "kafka.strimzi.io/v1"
        assert doc["metadata"]["namespace"] == "kafka"
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "my-cluster"
        assert doc["spec"]["partitions"] == (1 if name in _ONE_PARTITION else partitions), name
        assert doc["spec"]["replicas"] == replicas, name
        config = doc["spec"]["config"]
        assert config["cleanup.policy"] == policy, name
        assert config.get("retention.ms") == retention, name
        assert config.get("min.insync.replicas") == (2 if overlay == "production" else None)
    assert topics[prefix + "executor"]["spec"]["partitions"] == \
        topics[prefix + "executor-changelog"]["spec"]["partitions"]


# ------------------------------------------------------------------- workloads

@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_workloads(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    found = workloads(docs)
    assert {name: doc["kind"] for name, doc in found.items()} == WORKLOADS
    services = of_kind(docs, "Service")
    for name in ("ostinato-executor", "ostinato-worker"):
        spec = found[name]["spec"]
        assert spec["podManagementPolicy"] == "Parallel"
        # the governing Service of the StatefulSet: headless, selecting its pods
        governing = services[spec["serviceName"]]["spec"]
        assert governing["clusterIP"] == "None"
        assert governing["selector"] == spec["selector"]["matchLabels"]
        # static membership: the stable pod name is the consumer's group.instance.id
        field = env_of(the_container(found[name]))["OSTINATO_INSTANCE_ID"]["valueFrom"]["fieldRef"]
        assert field == {"fieldPath": "metadata.name"}
    (claim,) = found["ostinato-executor"]["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["mountPath"]: m["name"] for m in the_container(found["ostinato-executor"])["volumeMounts"]}
    assert mounts["/data"] == "data"

    def command(name: str) -> list[str]:
        container = the_container(found[name])
        return [*container["command"], *container["args"]]

    assert command("ostinato-executor") == ["ostinato", "executor", "--data-dir", "/data"]
    assert command("ostinato-worker") == ["ostinato", "worker", "--slots", "8"]
    assert command("ostinato-scheduler") == ["ostinato", "scheduler", "--data-dir", "/data"]
    assert command("ostinato-api") == ["ostinato", "api", "--host", "0.0.0.0", "--port", "8080",
                                       "--data-dir", "/data"]
    for doc in found.values():
        selector = doc["spec"]["selector"]["matchLabels"]
        assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_every_container(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    claims_in_namespace = set(of_kind(docs, "PersistentVolumeClaim"))
    for name, doc in workloads(docs).items():
        template = doc["spec"]["template"]
        pod = template["spec"]
        assert pod["terminationGracePeriodSeconds"] == 30
        # the worker alone runs as root, to run scripts as another user
        assert pod["securityContext"]["runAsNonRoot"] is (name != "ostinato-worker")
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(MANAGEMENT_PORT)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in doc["spec"].get("volumeClaimTemplates", [])}
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims_in_namespace
        for container in containers(doc):
            assert {"configMapRef": {"name": "ostinato"}} in container["envFrom"]
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["management"] == MANAGEMENT_PORT
            for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready"),
                                ("startupProbe", "/health")):
                assert container[probe]["httpGet"] == {"path": path, "port": "management"}
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][kind].keys(), (name, kind)
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
            for mount in mounts.values():
                assert mount in volumes or mount in claims, (name, mount)


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_worker_isolates_scripts(rendered: dict[str, list[Doc]], overlay: str) -> None:
    """Scripts run as another user and the Kafka password is a root-only file, never in
    the worker's environment (a script could read /proc/<worker pid>/environ otherwise)."""
    docs = rendered[overlay]
    pod = workloads(docs)["ostinato-worker"]["spec"]["template"]["spec"]
    container = the_container(workloads(docs)["ostinato-worker"])
    env = env_of(container)
    assert "OSTINATO_SASL_PASSWORD" not in env
    assert env["OSTINATO_SCRIPT_USER"]["value"] == "ostinato-script"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["OSTINATO_SASL_PASSWORD_FILE"]["value"].startswith(mounts["kafka-password"] + "/")
    volume = {v["name"]: v for v in pod["volumes"]}["kafka-password"]["secret"]
    assert volume["secretName"] == "ostinato-kafka" and volume["defaultMode"] == 0o400
    assert volume["optional"] is (overlay == "local")
    capabilities = container["securityContext"]["capabilities"]
    assert capabilities["drop"] == ["ALL"]
    assert set(capabilities["add"]) <= {"SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL"}
    namespace = of_kind(docs, "Namespace")["ostinato"]["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "baseline"
    assert namespace["pod-security.kubernetes.io/warn"] == "restricted"
    dockerfile = (K8S / "Dockerfile").read_text()
    assert "ostinato-script" in dockerfile and "USER 10001" in dockerfile


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_services_pdbs_and_selectors(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    found = workloads(docs)
    api_service = of_kind(docs, "Service")["ostinato-api"]["spec"]
    (port,) = api_service["ports"]
    assert port["port"] == 8080 and port["targetPort"] == "http"
    assert api_service["selector"] == found["ostinato-api"]["spec"]["selector"]["matchLabels"]
    assert {"name": "http", "containerPort": 8080} in the_container(found["ostinato-api"])["ports"]
    selectors = [w["spec"]["selector"]["matchLabels"] for w in found.values()]
    pdbs = of_kind(docs, "PodDisruptionBudget").values()
    assert sorted(str(p["spec"]["selector"]["matchLabels"]) for p in pdbs) == sorted(map(str, selectors))


def test_local_storage_is_a_shared_volume(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["local"]
    assert configmap(docs)["OSTINATO_STORAGE_DIR"] == "/storage"
    assert "OSTINATO_STORAGE" not in configmap(docs)
    assert of_kind(docs, "PersistentVolumeClaim")["ostinato-storage"]["spec"]["accessModes"]
    for name in ("ostinato-worker", "ostinato-api"):
        pod = workloads(docs)[name]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in the_container(workloads(docs)[name])["volumeMounts"]}
        assert volumes[mounts["/storage"]]["persistentVolumeClaim"]["claimName"] == "ostinato-storage"
    assert all(w["spec"]["replicas"] == 1 for w in workloads(docs).values())


def test_dockerfile() -> None:
    """What the manifests rely on: the entrypoint, uid 10001 and the script user."""
    text = (K8S / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["ostinato"]' in text
    assert "USER 10001" in text
    assert "OSTINATO_SCHEMAS_DIR" not in text  # the wheel carries the schemas


def test_readme_documents_every_setting_and_version(rendered: dict[str, list[Doc]]) -> None:
    """Every variable a manifest sets is in deploy/k8s/README.md's settings, and the README
    names the Kubernetes versions the manifests are validated against."""
    readme = (K8S / "README.md").read_text()
    names: set[str] = set()
    for docs in rendered.values():
        names |= configmap(docs).keys()
        for workload in workloads(docs).values():
            names |= {e["name"] for c in containers(workload) for e in c.get("env", [])}
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"not in deploy/k8s/README.md: {missing}"
    for version in KUBERNETES_VERSIONS:
        assert version in readme
    for overlay in OVERLAY_NAMES:
        assert f"deploy/k8s/overlays/{overlay}" in readme
