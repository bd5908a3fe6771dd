"""deploy/k8s and deploy/compose.yaml hold what operators rely on, checked offline.

Every document the kustomization applies validates strictly against the Kubernetes JSON
schemas of KUBERNETES_VERSION (kubernetes-validate ships them) or, for KEDA's
ScaledObject, against the hand-written schema beside this file. Then the facts the runbook
(deploy/README.md) promises: probes on the served port, requests and limits, two replicas
and a disruption budget each, secrets that the documented command creates, Services that
reach pods, and an autoscaler on each service's real consumer groups.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.events import SERVICES
from shared.kafka import ensure_topics

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
COMPOSE = REPO / "deploy" / "compose.yaml"
KUBERNETES_VERSION = "1.32.0"
KEDA_SCHEMA = Path(__file__).with_name("keda_scaledobject.schema.json")
#: Topics are created with this many partitions; more consumers than that idle.
PARTITIONS: int = inspect.signature(ensure_topics).parameters["partitions"].default
#: shared/consumer.py EventConsumer.stop() waits this long for the batch in hand.
CONSUMER_STOP_SECONDS = 30
SECRET = "ansinh-secrets"
CONFIG_MAP = "ansinh-platform"


@dataclass(frozen=True)
class Manifest:
    """One document of the rendered kustomization and the file it came from."""

    file: str
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind"))

    @property
    def name(self) -> str:
        return str((self.doc.get("metadata") or {}).get("name"))

    @property
    def where(self) -> str:
        return f"{self.file}: {self.kind}/{self.name}"


@cache
def rendered() -> tuple[Manifest, ...]:
    """What `kubectl apply -k deploy/k8s` applies: each resource file's documents, in order."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = []
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / resource).read_text()):
            if doc is not None:
                found.append(Manifest(resource, doc))
    return tuple(found)


def of_kind(kind: str) -> list[Manifest]:
    return [m for m in rendered() if m.kind == kind]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_labels(deployment: Manifest) -> dict[str, str]:
    return dict(deployment.doc["spec"]["template"]["metadata"]["labels"])


def container(deployment: Manifest) -> dict[str, Any]:
    containers = deployment.doc["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment.where}: one container per pod expected"
    return dict(containers[0])


def strict_errors(manifest: Manifest) -> Iterator[str]:
    """Schema errors of one document, each naming file, kind, name and where it failed."""
    if manifest.kind == "ScaledObject":
        schema = json.loads(KEDA_SCHEMA.read_text())
        for error in jsonschema.Draft7Validator(schema).iter_errors(manifest.doc):
            yield f"{manifest.where}: {error.message} at {error.json_path}"
        return
    try:
        kubernetes_validate.validate(manifest.doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        yield f"{manifest.where}: {error.message} at {error.json_path}"
    except kubernetes_validate.SchemaNotFoundError as error:
        yield f"{manifest.where}: no schema for it in Kubernetes {KUBERNETES_VERSION}: {error}"


def test_the_kustomization_applies_every_manifest_file() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk, f"files not applied: {on_disk - listed}, missing: {listed - on_disk}"


def test_every_document_validates_in_strict_mode() -> None:
    assert rendered(), "the kustomization renders nothing"
    failures = [error for manifest in rendered() for error in strict_errors(manifest)]
    assert not failures, "\n".join(failures)


def test_deployments_probe_the_port_they_serve() -> None:
    for deployment in of_kind("Deployment"):
        box = container(deployment)
        args = box["args"]
        served = int(args[args.index("--port") + 1])
        ports = {p["name"]: p["containerPort"] for p in box["ports"]}
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = box.get(probe, {}).get("httpGet", {})
            assert get.get("path") == path, f"{deployment.where}: {probe} must GET {path}"
            port = ports.get(get.get("port"), get.get("port"))
            assert port == served, f"{deployment.where}: {probe} probes {port}, serves {served}"
        annotations = deployment.doc["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(served), f"{deployment.where}: scrape"


def test_deployments_request_and_limit_resources() -> None:
    for deployment in of_kind("Deployment"):
        resources = container(deployment).get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        assert {"cpu", "memory"} <= requests.keys(), f"{deployment.where}: requests {requests}"
        # Memory is limited; CPU deliberately is not (deploy/README.md: throttled probes).
        assert "memory" in limits, f"{deployment.where}: no memory limit in {limits}"


def test_deployments_run_two_replicas_and_drain_gracefully() -> None:
    for deployment in of_kind("Deployment"):
        spec = deployment.doc["spec"]
        assert spec.get("replicas", 1) >= 2, f"{deployment.where}: fewer than 2 replicas"
        grace = spec["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        assert grace > CONSUMER_STOP_SECONDS, (
            f"{deployment.where}: terminationGracePeriodSeconds {grace} leaves the consumer "
            f"no time to commit after its {CONSUMER_STOP_SECONDS} s stop"
        )


def test_each_deployment_has_a_budget_selecting_exactly_its_pods() -> None:
    deployments, budgets = of_kind("Deployment"), of_kind("PodDisruptionBudget")
    for deployment in deployments:
        mine = [
            b
            for b in budgets
            if selects(b.doc["spec"]["selector"]["matchLabels"], pod_labels(deployment))
        ]
        assert len(mine) == 1, f"{deployment.where}: {len(mine)} PodDisruptionBudgets select it"
        budget = mine[0]
        available = budget.doc["spec"].get("minAvailable")
        assert available == 1, f"{budget.where}: minAvailable {available}, 1 expected"
        selector = budget.doc["spec"]["selector"]["matchLabels"]
        others = [
            d.name for d in deployments if d is not deployment and selects(selector, pod_labels(d))
        ]
        assert not others, f"{budget.where}: also selects the pods of {others}"
    assert len(budgets) == len(deployments), "a PodDisruptionBudget without its Deployment"


def documented_secret_keys() -> set[str]:
    """The keys the `kubectl create secret generic` command of deploy/k8s/README.md creates."""
    readme = (K8S / "README.md").read_text()
    command = re.search(rf"kubectl create secret generic {SECRET}((?:[^\n]*\\\n)*[^\n]*)", readme)
    assert command, f"deploy/k8s/README.md documents no `kubectl create secret generic {SECRET}`"
    return set(re.findall(r"--from-(?:literal|file)=([\w.-]+)=", command.group(1)))


def test_referenced_secret_keys_are_created_by_the_documented_command() -> None:
    documented = documented_secret_keys()
    for deployment in of_kind("Deployment"):
        for env in container(deployment).get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref is None:
                continue
            assert ref["name"] == SECRET, f"{deployment.where}: {env['name']} from {ref['name']}"
            assert ref["key"] in documented, (
                f"{deployment.where}: {env['name']} reads key {ref['key']!r}, which the README's "
                f"kubectl create secret command does not create (it creates {sorted(documented)})"
            )


def test_every_service_selects_a_deployments_pods() -> None:
    for service in of_kind("Service"):
        selector = service.doc["spec"]["selector"]
        targets = [d for d in of_kind("Deployment") if selects(selector, pod_labels(d))]
        assert len(targets) == 1, f"{service.where}: selects {[d.name for d in targets]}"
        names = {p["name"] for p in container(targets[0])["ports"]}
        for port in service.doc["spec"]["ports"]:
            assert port["targetPort"] in names, f"{service.where}: {port['targetPort']} unserved"


def consumer_groups(service: str) -> set[tuple[str, str]]:
    """(group id, topic) of each consumer the service runs: ``<service>.<spec name>``
    (shared/service.py create_app), one pair per topic it subscribes to."""
    definition = importlib.import_module(f"services.{service}.app").DEFINITION
    return {
        (f"{definition.name}.{spec.name}", topic)
        for spec in definition.consumers
        for topic in spec.topics
    }


@pytest.mark.parametrize("service", SERVICES)
def test_consumer_lag_scales_each_service_within_its_partitions(service: str) -> None:
    expected = consumer_groups(service)
    scalers = [
        s for s in of_kind("ScaledObject") if s.doc["spec"]["scaleTargetRef"]["name"] == service
    ]
    if not expected:
        assert not scalers, f"{service} consumes nothing, yet {scalers[0].where} scales it on lag"
        return
    assert len(scalers) == 1, f"{service}: {len(scalers)} ScaledObjects target its Deployment"
    scaler, spec = scalers[0], scalers[0].doc["spec"]
    deployment = next(d for d in of_kind("Deployment") if d.name == service)
    assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment", scaler.where
    assert spec["minReplicaCount"] == 2, f"{scaler.where}: minReplicaCount must be 2"
    assert 2 <= spec["maxReplicaCount"] <= PARTITIONS, (
        f"{scaler.where}: maxReplicaCount {spec['maxReplicaCount']} beyond {PARTITIONS} "
        "partitions a topic: the extra consumers would idle"
    )
    replicas = deployment.doc["spec"]["replicas"]
    assert spec["minReplicaCount"] <= replicas <= spec["maxReplicaCount"], deployment.where
    config_map = next(m for m in of_kind("ConfigMap") if m.name == CONFIG_MAP)
    sources = {ref["configMapRef"]["name"] for ref in container(deployment).get("envFrom", [])}
    triggered = set()
    for trigger in spec["triggers"]:
        assert trigger["type"] == "kafka", f"{scaler.where}: a {trigger['type']} trigger"
        meta = trigger["metadata"]
        env = meta.get("bootstrapServersFromEnv")
        assert env in config_map.doc["data"] and CONFIG_MAP in sources, (
            f"{scaler.where}: bootstrapServersFromEnv {env!r} is not a key of the "
            f"{CONFIG_MAP} ConfigMap that {deployment.where} loads"
        )
        assert int(meta["lagThreshold"]) > 0, f"{scaler.where}: lagThreshold"
        assert meta.get("offsetResetPolicy") == "earliest", f"{scaler.where}: as the consumers"
        triggered.add((meta["consumerGroup"], meta["topic"]))
    assert triggered == expected, (
        f"{scaler.where}: triggers on {sorted(triggered)}, the service consumes {sorted(expected)}"
    )


def test_kubectl_renders_the_same_documents() -> None:
    """Where kubectl is installed, its kustomize agrees with the reading above."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomization is read by this test alone")
    built = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, f"kubectl kustomize deploy/k8s: {built.stderr}"
    theirs = sorted(json.dumps(d, sort_keys=True) for d in yaml.safe_load_all(built.stdout) if d)
    ours = sorted(json.dumps(m.doc, sort_keys=True) for m in rendered())
    assert theirs == ours


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_compose_config_is_accepted_by_docker_compose() -> None:
    docker = shutil.which("docker")
    version = (
        subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
        if docker
        else None
    )
    if version is None or version.returncode != 0:
        said = "" if version is None else (version.stderr or version.stdout).strip()
        reason = said.splitlines()[0] if said else "docker is not installed"
        pytest.skip(f"`docker compose version` fails ({reason}): PyYAML checks below only")
    env = {**os.environ, "ANSINH_JWT_SECRET": "x", "ANSINH_PSEUDONYM_SECRET": "y"}
    checked = subprocess.run(
        [str(docker), "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert checked.returncode == 0, checked.stderr


def test_compose_runs_two_healthchecked_replicas_after_the_platform() -> None:
    services = compose_services()
    for platform in ("kafka", "postgres"):
        assert services[platform].get("healthcheck", {}).get("test"), f"{platform}: healthcheck"
    for name in SERVICES:
        service = services[name]
        assert service.get("deploy", {}).get("replicas", 1) >= 2, f"compose {name}: replicas"
        assert "/readyz" in " ".join(service["healthcheck"]["test"]), f"compose {name}: /readyz"
        for platform in ("kafka", "postgres"):
            condition = service["depends_on"].get(platform, {}).get("condition")
            assert condition == "service_healthy", f"compose {name}: waits for {platform}"
        assert not service.get("ports"), f"compose {name}: a fixed host port stops replica 2"
        assert f"services.{name}.app:create" in service["command"], f"compose {name}: command"


def test_compose_edge_publishes_every_service() -> None:
    edge = compose_services()["edge"]
    config = yaml.safe_load(COMPOSE.read_text())["configs"]["edge"]["content"]
    routed = dict(re.findall(r"listen (\d+);.*?http://(\w+):8000", config))
    published = {p.split(":")[0] for p in edge["ports"]}
    assert set(routed.values()) == set(SERVICES), f"edge routes {routed}"
    assert set(routed) == published, f"edge publishes {published}, listens on {set(routed)}"
