"""deploy/versions.env is the one place the operator versions are pinned: the manifests and the install commands
read it, and every pin is used."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def pins() -> dict[str, str]:
    lines = (DEPLOY / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_pin_is_a_version_and_the_install_commands_use_them_all() -> None:
    versions = pins()
    assert set(versions) == {"STRIMZI_VERSION", "STRIMZI_KAFKA_VERSION", "KEDA_VERSION", "PROMETHEUS_OPERATOR_VERSION",
                             "CERT_MANAGER_VERSION", "GATEWAY_API_VERSION", "ENVOY_GATEWAY_VERSION"}
    assert all(re.fullmatch(r"v?\d+\.\d+\.\d+", v) for v in versions.values()), versions
    guide = (DEPLOY / "README.md").read_text()
    assert "source deploy/versions.env" in guide
    for name in set(versions) - {"STRIMZI_KAFKA_VERSION"}:  # that one is the manifests' (the test below)
        assert f"${name}" in guide, f"deploy/README.md never uses {name}"
    installs = [line for line in guide.splitlines() if line.strip().startswith("helm install")]
    pinned = [line for line in installs if re.search(r"strimzi|keda|prometheus-stack|cert-manager|gateway-helm", line)]
    assert len(pinned) == 5 and all("--version" in line for line in pinned), pinned


def test_the_kafka_the_manifests_run_is_the_pinned_one() -> None:
    version = pins()["STRIMZI_KAFKA_VERSION"]
    kafka = next(d for d in yaml.safe_load_all((DEPLOY / "k8s/overlays/production/kafka.yaml").read_text())
                 if d and d["kind"] == "Kafka")
    assert kafka["spec"]["kafka"]["version"] == version
    assert f"image: apache/kafka:{version}" in (DEPLOY / "k8s/overlays/local/kafka.yaml").read_text()
