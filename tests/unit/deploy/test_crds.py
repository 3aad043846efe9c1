"""The operator resources (Strimzi, KEDA, prometheus-operator) checked against their published schemas.

The schemas come from the npm packages pinned in deploy/schemas/package.json and package-lock.json (the
operators' CRDs compiled to JSON-schema validators and TypeScript types); deploy/schemas/check.mjs runs both.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.npm_packages import npm_ci
from tests.unit.deploy.test_k8s import KUBECTL, ROOT, is_custom, render

SCHEMAS = ROOT / "deploy" / "schemas"
NODE, NPM = shutil.which("node"), shutil.which("npm")

pytestmark = [
    pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed (make test installs it as root)"),
    pytest.mark.skipif(NODE is None or NPM is None, reason="node and npm are needed to run the operators' schemas"),
]


@pytest.fixture(scope="module")
def checker() -> Path:
    npm_ci(SCHEMAS)  # exactly the locked versions, once across workers
    return SCHEMAS / "check.mjs"


def check(checker: Path, docs: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "resources.json"
    path.write_text(json.dumps(docs))
    assert NODE is not None
    out = subprocess.run([NODE, str(checker), str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return [d for d in render("production") if is_custom(d)]


def test_every_operator_resource_matches_its_schema(checker: Path, production: list[dict[str, Any]],
                                                   tmp_path: Path) -> None:
    kinds = {d["kind"] for d in production}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ScaledObject", "TriggerAuthentication",
            "ServiceMonitor", "PrometheusRule", "Gateway", "HTTPRoute", "ClientTrafficPolicy"} <= kinds
    result = check(checker, production, tmp_path)
    assert result["problems"] == []
    assert len(result["checked"]) == len(production)


def test_the_check_catches_misspelt_fields_and_wrong_types(checker: Path, production: list[dict[str, Any]],
                                                           tmp_path: Path) -> None:
    broken = copy.deepcopy(production)
    kafka = next(d for d in broken if d["kind"] == "Kafka")
    kafka["spec"]["kafka"]["replicaz"] = 3
    scaled = next(d for d in broken if d["kind"] == "ScaledObject")
    scaled["spec"]["minReplicaCount"] = "two"
    topic = next(d for d in broken if d["kind"] == "KafkaTopic")
    topic["apiVersion"] = "kafka.strimzi.io/v9"
    user = next(d for d in broken if d["kind"] == "KafkaUser")
    user["apiVersion"] = "kafka.strimzi.io/v1beta2"  # its schema is in the package, but Strimzi 1.0 serves v1 only
    route = next(d for d in broken if d["kind"] == "HTTPRoute")
    route["spec"]["rules"][0]["timeoutz"] = {"request": "0s"}
    problems = check(checker, broken, tmp_path)["problems"]
    text = json.dumps(problems)
    assert "replicaz" in text and "minReplicaCount must be integer" in text and "kafka.strimzi.io/v9" in text
    assert "kafka.strimzi.io/v1beta2 is not served" in text and "timeoutz" in text
