"""Monitoring against the running services: every metric the rules and dashboards name is really exported, and a
real Prometheus (Debian's, as `pulse up --prometheus` starts it) scrapes the four services and evaluates the rules.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.dev.servers import free_port, start_prometheus, wait_for_port
from services.dev.up import scrape_targets
from tests.integration.harness import Pipeline, expected_counts, wait_until
from tests.unit.deploy.monitoring_refs import SYNTHETIC, dashboard_exprs, exported_names, metric_names, rules

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("prometheus") is None,
                                 reason="prometheus not installed (make test installs Debian's package as root)")]
TOKEN = "monitoring-test-token-0123456789"


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]  # type: ignore[no-any-return]


def scalar(prom: str, expr: str) -> float | None:
    result = query(prom, expr)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_the_stack_and_every_referenced_metric_exists(pipeline: Pipeline, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    http_port, ingest_metrics = free_port(), free_port()
    pipeline.env.update(PULSE_INGEST_TOKEN=TOKEN, PULSE_INGEST_HTTP_PORT=str(http_port),
                        PULSE_INGEST_METRICS_PORT=str(ingest_metrics))
    pipeline.start_all()
    wait_for_port(http_port, proc=pipeline.start("ingest", "--http"))
    with monkeypatch.context() as env:  # the settings the services read, as pulse up reads them
        for name, value in pipeline.env.items():
            if name.startswith("PULSE_"):
                env.setenv(name, value)
        targets = scrape_targets()
    assert targets["infer"].endswith(str(pipeline.metrics_ports["infer"]))
    prometheus = start_prometheus(targets, tmp_path / "prometheus", scrape_interval_s=1.0)
    try:
        prom = prometheus.address
        good = [{"id": f"m{i}", "text": text} for i, text in enumerate(
            ["Bernie is right about healthcare", "Trump lies again", "Biden in Ohio today", "Vote Biden!",
             "Trump rally tonight, so proud", "Sanders for president"])]
        r = httpx.post(f"http://127.0.0.1:{http_port}/v1/tweets", json=[*good, {"id": "bad"}],
                       headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 202 and len(r.json()["rejected"]) == 1
        expected = expected_counts(pipeline.bundle, good)
        pipeline.wait_for_counts(expected)
        pairs = sum(sum(c.values()) for c in expected.values())

        # 1. Every metric the rules and the dashboards name is one the services export.
        exported = set(SYNTHETIC)
        for address in targets.values():
            text = httpx.get(f"http://{address}/metrics", timeout=5).text
            exported |= exported_names(list(text_string_to_metric_families(text)))
        recorded = {r["record"] for r in rules() if "record" in r}
        referenced = {n for r in rules() for n in metric_names(r["expr"])}
        referenced |= {n for exprs in dashboard_exprs().values() for e in exprs for n in metric_names(e)}
        assert referenced - recorded - exported == set()

        # 2. Prometheus scrapes all four, loads the rules and sees the counts the API serves.
        wait_until(lambda: scalar(prom, 'count(up{job=~"ingest|infer|aggregate|api"} == 1)') == 4, 30,
                   what="four targets up")
        wait_until(lambda: scalar(prom, "sum(pulse_aggregate_records_counted_total)") == pairs, 30,
                   what=f"{pairs} counted pairs in Prometheus")
        assert scalar(prom, "sum(pulse_infer_predictions_total)") == pairs
        assert scalar(prom, 'sum(pulse_ingest_dead_letters_total{reason="missing_field"})') == 1
        groups = httpx.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"]
        loaded = {r["name"]: r for g in groups for r in g["rules"]}
        assert set(loaded) == {r.get("alert") or r["record"] for r in rules()}
        wait_until(lambda: all(r["health"] == "ok" and r.get("lastEvaluation", "").startswith("2")
                               for r in httpx.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"][0]
                               ["rules"]), 30, what="recording rules evaluated")
        wait_until(lambda: query(prom, "pulse:records_counted:rate5m"), 30, what="recorded counting rate")
        # Everything consumed: both stages report a lag, and it is zero.
        wait_until(lambda: {r["metric"]["stage"]: float(r["value"][1]) for r in query(prom, "pulse:consumer_lag:sum")}
                   == {"infer": 0.0, "aggregate": 0.0}, 30, what="zero lag in both stages")
        firing = httpx.get(f"{prom}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        assert [a for a in firing if a["state"] == "firing"] == []  # a healthy stack raises no alert
    finally:
        prometheus.stop()
