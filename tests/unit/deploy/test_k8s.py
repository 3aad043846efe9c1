"""The kustomize overlays, rendered by kubectl and checked against the Kubernetes schemas and our rules."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
KUBECTL = shutil.which("kubectl")
# Operator resources: checked against their own schemas in test_crds.py.
# The operators' API groups: their resources are checked against the operators' schemas (test_crds.py).
OPERATOR_GROUPS = ("kafka.strimzi.io", "keda.sh", "monitoring.coreos.com", "gateway.networking.k8s.io",
                   "gateway.envoyproxy.io", "cert-manager.io")
OURS = {"ingest", "ingest-bluesky", "infer", "aggregate", "api", "redis"}

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed (make test installs it as root)")


def render(overlay: str) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    # No flags: the overlays must render as `kubectl kustomize` / `kubectl apply -k` read them, load restrictor on.
    out = subprocess.run([KUBECTL, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
                         capture_output=True, text=True, check=True, timeout=60)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=["local", "production"])
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def is_custom(doc: dict[str, Any]) -> bool:
    return doc["apiVersion"].split("/")[0] in OPERATOR_GROUPS


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_builtin_resource_matches_the_kubernetes_schema(docs: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    for doc in docs:
        if is_custom(doc):
            continue
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_our_pods_are_locked_down_and_sized(docs: list[dict[str, Any]]) -> None:
    workloads = {**by_kind(docs, "Deployment"), **by_kind(docs, "StatefulSet")}
    assert set(workloads) >= OURS
    for name in OURS:
        spec = workloads[name]["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"requests", "limits"} <= set(c["resources"]), name
            assert "readinessProbe" in c and "livenessProbe" in c, name
        assert spec["terminationGracePeriodSeconds"] >= 30, name
    for name in OURS - {"redis"}:
        container = workloads[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name


def test_network_policies_expose_only_the_api_and_guard_redis(docs: list[dict[str, Any]]) -> None:
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and "ingress" not in deny
    open_to_all = [p for p in policies.values()
                   if any("from" not in rule for rule in p["spec"].get("ingress", []))]
    assert [p["spec"]["podSelector"]["matchLabels"] for p in open_to_all] == [{"app": "api"}]
    redis = policies["redis-from-its-clients"]["spec"]["ingress"][0]["from"]
    assert sorted(f["podSelector"]["matchLabels"]["app"] for f in redis) == ["aggregate", "api", "infer", "ingest-live"]


def test_no_secret_values_are_committed(docs: list[dict[str, Any]]) -> None:
    for secret in by_kind(docs, "Secret").values():  # only KEDA's non-secret login parameters
        assert set(secret.get("stringData", {})) <= {"mechanism", "username", "tls"}
        assert "data" not in secret
    workloads = [*by_kind(docs, "Deployment").values(), *by_kind(docs, "StatefulSet").values()]
    secret_like = ("PASSWORD", "TOKEN", "SECRET", "REDIS_URL")
    for w in workloads:
        for c in w["spec"]["template"]["spec"]["containers"]:
            for env in c.get("env", []):
                if any(s in env["name"] for s in secret_like):
                    # ours, or the one Strimzi's User Operator makes for the `pulse` KafkaUser
                    assert "value" not in env and env["valueFrom"]["secretKeyRef"]["name"] in {"pulse-secrets", "pulse"}
    settings = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("pulse-settings"))
    assert not any(s in k for k in settings["data"] for s in ("PASSWORD", "TOKEN", "REDIS_URL"))


def test_routing_configmap_is_the_shipped_routing_file(docs: list[dict[str, Any]]) -> None:
    routing = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("pulse-routing"))
    assert routing["data"]["routing.toml"] == (ROOT / "services" / "common" / "routing.toml").read_text()


def test_production_runs_inference_on_gpus_scaled_on_lag() -> None:
    docs = render("production")
    infer = by_kind(docs, "Deployment")["infer"]["spec"]["template"]["spec"]
    assert infer["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert infer["nodeSelector"] and infer["tolerations"][0]["key"] == "nvidia.com/gpu"
    scaled = by_kind(docs, "ScaledObject")["infer"]["spec"]
    trigger = scaled["triggers"][0]
    assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == "pulse-infer"
    topics = by_kind(docs, "KafkaTopic")
    assert topics["pulse.tweets.raw"]["spec"]["replicas"] == 3
    assert scaled["maxReplicaCount"] <= topics["pulse.tweets.raw"]["spec"]["partitions"]
    assert by_kind(docs, "HorizontalPodAutoscaler")["api"]["spec"]["scaleTargetRef"]["name"] == "api"
    groups = {d["apiVersion"].split("/")[0] for d in docs if is_custom(d)}
    assert groups == set(OPERATOR_GROUPS) - {"cert-manager.io"}  # cert-manager's Certificate comes from the Gateway


def test_prometheus_operator_objects_carry_the_release_label_and_nothing_else_does(
        docs: list[dict[str, Any]]) -> None:
    operator_kinds = {"ServiceMonitor", "PrometheusRule"}
    labelled = {(d["kind"], d["metadata"]["name"]) for d in docs
                if d["metadata"].get("labels", {}).get("release") == "kube-prometheus-stack"}
    expected = {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in operator_kinds}
    assert labelled == expected  # the local overlay has no monitoring component: both empty there


def test_production_kafka_clients_verify_the_brokers_with_strimzis_cluster_ca() -> None:
    docs = render("production")
    settings = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("pulse-settings"))
    cafile = settings["data"]["PULSE_KAFKA_SSL_CAFILE"]
    assert settings["data"]["PULSE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    deployments = by_kind(docs, "Deployment")
    for name in ("ingest", "infer", "aggregate"):
        pod = deployments[name]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if cafile.startswith(m["mountPath"] + "/"))
        assert volumes[mount["name"]]["secret"]["secretName"] == "pulse-cluster-ca-cert", name
    refs = by_kind(docs, "TriggerAuthentication")["pulse-kafka"]["spec"]["secretTargetRef"]
    assert {"parameter": "ca", "name": "pulse-cluster-ca-cert", "key": "ca.crt"} in refs  # KEDA verifies the same way


def test_redis_requires_its_password_keeps_it_off_the_command_line_and_never_evicts_counters(
        docs: list[dict[str, Any]]) -> None:
    redis = by_kind(docs, "StatefulSet")["redis"]["spec"]["template"]["spec"]["containers"][0]
    password = next(e for e in redis["env"] if e["name"] == "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]
    assert not password.get("optional", False)
    script = " ".join(redis["args"])
    server = script[script.index("redis-server"):]
    assert "--include /run/redis/auth.conf" in server and "REDIS_PASSWORD" not in server
    assert "--maxmemory-policy noeviction" in server and "--appendfsync always" in server


def test_slow_starting_workers_have_a_startup_probe(docs: list[dict[str, Any]]) -> None:
    deployments = by_kind(docs, "Deployment")
    for name in ("infer", "aggregate"):
        probe = deployments[name]["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
        assert probe["httpGet"]["path"] == "/healthz" and probe["periodSeconds"] * probe["failureThreshold"] >= 300


def test_the_public_api_service_does_not_expose_metrics(docs: list[dict[str, Any]]) -> None:
    services = by_kind(docs, "Service")
    assert [p["name"] for p in services["api"]["spec"]["ports"]] == ["http"]
    assert [p["name"] for p in services["api-metrics"]["spec"]["ports"]] == ["metrics"]
    monitors = by_kind(docs, "ServiceMonitor")
    if monitors:  # production: the api's ServiceMonitor selects the metrics Service only
        selector = monitors["api"]["spec"]["selector"]["matchLabels"]
        assert all(services["api-metrics"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
        assert not all(services["api"]["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In"
        ok = ok and labels.get(expr["key"]) in expr["values"]
    return ok


def egress_ports(docs: list[dict[str, Any]], app: str) -> set[int] | None:
    """The ports the pods of `app` may open connections to (None: no egress policy selects them, so anything)."""
    policies = [d for d in by_kind(docs, "NetworkPolicy").values()
                if "Egress" in d["spec"].get("policyTypes", []) and _selects(d["spec"]["podSelector"], {"app": app})]
    if not policies:
        return None
    return {p["port"] for d in policies for rule in d["spec"].get("egress", []) for p in rule.get("ports", [])}


def test_egress_is_limited_to_what_each_service_talks_to(docs: list[dict[str, Any]]) -> None:
    assert egress_ports(docs, "ingest") == {53, 9092, 9093}
    assert egress_ports(docs, "infer") == egress_ports(docs, "aggregate") == {53, 9092, 9093, 6379}
    assert egress_ports(docs, "api") == {53, 6379}
    assert egress_ports(docs, "redis") == {53}
    assert egress_ports(docs, "ingest-live") == {53, 9092, 9093, 6379, 443}
    internet = by_kind(docs, "NetworkPolicy")["ingest-live-egress-internet"]["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert "10.0.0.0/8" in internet["except"] and "169.254.0.0/16" in internet["except"]


def test_production_exposes_the_api_through_gateway_api_over_tls_with_websocket_timeouts() -> None:
    docs = render("production")
    assert "Ingress" not in {d["kind"] for d in docs}  # ingress-nginx is retired: components/ingress only
    gateway = by_kind(docs, "Gateway")["pulse"]
    https = next(x for x in gateway["spec"]["listeners"] if x["protocol"] == "HTTPS")
    assert gateway["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]  # cert-manager issues its certificate
    assert https["tls"]["certificateRefs"][0]["name"] and https["hostname"]
    routes = by_kind(docs, "HTTPRoute")
    rules = routes["api"]["spec"]["rules"]
    assert routes["api"]["spec"]["parentRefs"] == [{"name": "pulse", "sectionName": "https"}]
    assert {b["name"] for r in rules for b in r["backendRefs"]} == {"api"}  # never the metrics Service
    stream = next(r for r in rules if r["matches"][0]["path"]["value"] == "/v1/pulse/stream")
    assert stream["timeouts"]["request"] == "0s"  # the websocket is one long request: no route timeout
    redirect = routes["api-redirect"]["spec"]["rules"][0]["filters"][0]
    assert redirect["requestRedirect"]["scheme"] == "https"
    policy = by_kind(docs, "ClientTrafficPolicy")["pulse"]
    assert policy["spec"]["targetRefs"][0]["name"] == "pulse" and policy["spec"]["timeout"]["http"]["streamIdleTimeout"]


def test_the_optional_ingress_component_still_renders_for_clusters_without_gateway_api(tmp_path: Path) -> None:
    assert KUBECTL is not None
    overlay = tmp_path / "ingress"
    overlay.mkdir()
    k8s = os.path.relpath(ROOT / "deploy" / "k8s", overlay)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": "stance-pulse",
        "resources": [f"{k8s}/base"], "components": [f"{k8s}/components/ingress"]}))
    out = subprocess.run([KUBECTL, "kustomize", str(overlay)], capture_output=True, text=True, check=True, timeout=60)
    ingress = by_kind([d for d in yaml.safe_load_all(out.stdout) if d], "Ingress")["api"]
    rule = ingress["spec"]["rules"][0]
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "api", "port": {"name": "http"}}
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_production_backs_redis_up_to_object_storage_nightly_without_exposing_secrets() -> None:
    docs = render("production")
    cronjobs = by_kind(docs, "CronJob")
    job = cronjobs["redis-backup"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (dump,), (upload,) = job["initContainers"], job["containers"]
    assert job["securityContext"]["runAsNonRoot"] is True
    assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in (dump, upload))
    assert [c["command"][-1] for c in (dump, upload)] == ["dump", "upload"]  # backup/redis-backup.sh's steps
    auth = next(e for e in dump["env"] if e["name"] == "REDISCLI_AUTH")["valueFrom"]["secretKeyRef"]
    assert auth == {"name": "pulse-secrets", "key": "redis-password"}
    remote = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") for e in upload["env"]}
    assert remote["RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY"] == remote["BACKUP_PATH"] == "pulse-backup"
    script = next(c for n, c in by_kind(docs, "ConfigMap").items() if n.startswith("redis-backup-script"))
    assert script["data"]["redis-backup.sh"] == (
        ROOT / "deploy/k8s/overlays/production/backup/redis-backup.sh").read_text()  # what the drill test runs
    assert "PersistentVolumeClaim" not in {d["kind"] for d in docs}  # nothing kept in the cluster's own storage
    assert egress_ports(docs, "redis-backup") == {53, 6379, 443}
    # the restore: on demand only, into the StatefulSet's own volume
    restore = cronjobs["redis-restore"]["spec"]
    assert restore["suspend"] is True
    pod = restore["jobTemplate"]["spec"]["template"]["spec"]
    assert [c["command"][-1] for c in pod["initContainers"] + pod["containers"]] == ["download", "rebuild-aof"]
    claim = next(v for v in pod["volumes"] if v["name"] == "data")["persistentVolumeClaim"]["claimName"]
    redis = by_kind(docs, "StatefulSet")["redis"]
    assert claim == f"{redis['spec']['volumeClaimTemplates'][0]['metadata']['name']}-redis-0"


def test_the_opt_in_live_sources_render_with_their_secrets_and_own_their_cursor(tmp_path: Path) -> None:
    assert KUBECTL is not None
    # The production overlay as an operator turns the two on: its own copy with them added to `components`.
    production = ROOT / "deploy" / "k8s" / "overlays" / "production"
    overlay = tmp_path / "production"
    shutil.copytree(production, overlay)
    config = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    k8s = os.path.relpath(ROOT / "deploy" / "k8s", overlay)  # kustomize takes other roots by relative path only
    config["resources"] = [r.replace("../..", k8s) for r in config["resources"]]
    config["components"] = [c.replace("../..", k8s) for c in config["components"]] + [
        f"{k8s}/components/live-mastodon", f"{k8s}/components/live-x"]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(config))
    out = subprocess.run([KUBECTL, "kustomize", str(overlay)], capture_output=True, text=True, check=True,
                         timeout=60)
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    deployments = by_kind(docs, "Deployment")
    for source, secret in (("bluesky", None), ("mastodon", "mastodon-token"), ("x", "x-bearer-token")):
        d = deployments[f"ingest-{source}"]
        assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["type"] == "Recreate", source
        container = d["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["ingest", "--source", source]
        refs = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
        assert "redis-url" in refs and "password" in refs  # the checkpoint store, and Strimzi's Kafka login
        if secret:
            assert secret in refs
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    test_every_builtin_resource_matches_the_kubernetes_schema(docs)
