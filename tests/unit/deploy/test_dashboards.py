"""The Grafana dashboards: the committed JSON is what the code generates, and every panel is well formed."""

from __future__ import annotations

import json

from tests.unit.deploy.monitoring_refs import dashboard_exprs, dashboards_module, metric_names, rules


def test_committed_json_is_what_the_code_generates() -> None:
    module = dashboards_module()
    for name, text in module.render().items():
        committed = module.GENERATED / name
        assert committed.exists(), f"{name} missing: run python deploy/grafana/dashboards.py"
        assert committed.read_text() == text, f"{name} is stale: run python deploy/grafana/dashboards.py"


def test_panels_are_well_formed() -> None:
    module = dashboards_module()
    uids: list[str] = []
    for name, text in module.render().items():
        board = json.loads(text)
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        assert board["uid"].startswith("pulse-"), name
        uids.append(board["uid"])
        for p in board["panels"]:
            pos = p["gridPos"]
            assert pos["x"] + pos["w"] <= 24, (name, p["title"])
            if p["type"] != "row":
                assert p["targets"] and all(t["expr"] for t in p["targets"]), (name, p["title"])
                assert len({t["refId"] for t in p["targets"]}) == len(p["targets"]), (name, p["title"])
    assert len(uids) == len(set(uids)) > 1  # one uid per dashboard: Grafana would keep only one of a pair


def test_recorded_series_used_by_dashboards_are_defined_by_the_rules() -> None:
    recorded = {r["record"] for r in rules() if "record" in r}
    used = {n for exprs in dashboard_exprs().values() for e in exprs for n in metric_names(e)}
    assert {n for n in used if ":" in n} <= recorded
    assert "pulse_aggregate_records_counted_total" in used and "party" not in used
