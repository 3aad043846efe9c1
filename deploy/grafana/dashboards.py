"""The Grafana dashboards, as code: `python deploy/grafana/dashboards.py` writes the JSON the monitoring
component ships, deploy/k8s/components/monitoring/dashboards/*.json.

Three dashboards: the pulse itself (stance per party over time, net stance), the pipeline (throughput per stage,
batches, latencies, lag, dead letters) and the API (requests, errors, websocket subscribers). The JSON is
committed with sorted keys; tests/unit/deploy/test_dashboards.py fails when it is stale and checks that every
metric named here is one the services export. Plain dictionaries, no dashboard library: the panels we use
(time series, stat, table) are a few keys each, and the JSON diff in review stays readable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

GENERATED = Path(__file__).resolve().parents[1] / "k8s" / "components" / "monitoring" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH = 24


class Layout:
    """Places panels left to right, wrapping at Grafana's 24-column grid, and numbers them."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_height = 0

    def add(self, panel: dict[str, Any], w: int = 12, h: int = 8) -> None:
        if self.x + w > WIDTH:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        panel["id"] = len(self.panels) + 1
        self.panels.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        self.panels.append({"type": "row", "title": title, "collapsed": False, "id": len(self.panels) + 1,
                            "gridPos": {"x": 0, "y": self.y, "w": WIDTH, "h": 1}, "panels": []})
        self.y += 1


def target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto", "refId": ref}


def timeseries(title: str, targets: list[dict[str, Any]], unit: str = "short", description: str = "",
               stack: bool = False, overrides: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {
            "defaults": {"unit": unit, "custom": {"lineWidth": 2, "fillOpacity": 15 if stack else 0,
                                                  "stacking": {"mode": "normal" if stack else "none"}}},
            "overrides": overrides or [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
    }


def stat(title: str, expr: str, unit: str = "short", legend: str = "", description: str = "",
         thresholds: list[tuple[float | None, str]] | None = None) -> dict[str, Any]:
    steps = [{"value": v, "color": c} for v, c in (thresholds or [(None, "green")])]
    return {
        "type": "stat", "title": title, "description": description, "datasource": DATASOURCE,
        "targets": [target(expr, legend)],
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value", "graphMode": "area"},
    }


STANCE_COLOURS = [{"matcher": {"id": "byName", "options": label},
                   "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}]}
                  for label, colour in (("FAVOR", "green"), ("AGAINST", "red"), ("NONE", "gray"))]


def dashboard(uid: str, title: str, description: str, layout: Layout,
              variables: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    datasource_var = {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus",
                      "current": {}, "hide": 0}
    return {
        "uid": uid, "title": title, "description": description, "tags": ["stance-pulse"],
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s", "timezone": "utc",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [datasource_var, *(variables or [])]},
        "annotations": {"list": []},
        "links": [],
        "panels": layout.panels,
    }


COUNTED = "pulse_aggregate_records_counted_total"


def pulse() -> dict[str, Any]:
    party = {"name": "party", "type": "query", "label": "Party", "datasource": DATASOURCE,
             "query": {"query": f"label_values({COUNTED}, party)", "refId": "party"},
             "definition": f"label_values({COUNTED}, party)", "refresh": 2, "multi": True, "includeAll": True,
             "current": {"text": "All", "value": "$__all"}, "sort": 1, "hide": 0}
    sel = 'party=~"$party"'
    lay = Layout()
    lay.row("Stance per party")
    lay.add({**repeat_per_party(), **timeseries(
        "$party: tweets counted per minute, by stance",
        [target(f"sum by (label) (rate({COUNTED}{{{sel}}}[5m])) * 60", "{{label}}")],
        unit="short", stack=True, overrides=STANCE_COLOURS,
        description="Each (tweet, candidate) pair counted once, whatever the replays; a party's figures are the sum "
                    "of its candidates'. By counting time, not by the tweet's own time (the REST API's minute "
                    "buckets use created_at).")}, w=12, h=9)
    lay.add(timeseries(
        "Net stance per party: (FAVOR − AGAINST) / (FAVOR + AGAINST), 15-minute rate",
        [target(f'(sum by (party) (rate({COUNTED}{{{sel}, label="FAVOR"}}[15m])) - sum by (party) (rate({COUNTED}'
                f'{{{sel}, label="AGAINST"}}[15m]))) / sum by (party) (rate({COUNTED}{{{sel}, '
                f'label=~"FAVOR|AGAINST"}}[15m]))', "{{party}}")],
        unit="percentunit",
        description="+1: every stance-taking tweet favours the party; −1: every one is against it."), w=24, h=8)
    lay.row("Totals in the dashboard's time range")
    for label, colour in (("FAVOR", "green"), ("AGAINST", "red"), ("NONE", "gray")):
        lay.add(stat(f"{label}, $party", f'sum(increase({COUNTED}{{{sel}, label="{label}"}}[$__range]))',
                     thresholds=[(None, colour)]), w=8, h=5)
    return dashboard("pulse-stance", "Stance Pulse: the pulse",
                     "What people say about each party, live: FAVOR / AGAINST / NONE per party, and net stance.",
                     lay, [party])


def repeat_per_party() -> dict[str, Any]:
    """One copy of the panel per selected party, two to a row."""
    return {"repeat": "party", "repeatDirection": "h", "maxPerRow": 2}


def quantiles(metric: str, by: str = "", legend_prefix: str = "") -> list[dict[str, Any]]:
    group = f"le{', ' + by if by else ''}"
    return [target(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[5m])))",
                   f"{legend_prefix}p{int(q * 100)}" + (f" {{{{{by}}}}}" if by else ""))
            for q in (0.5, 0.99)]


def pipeline() -> dict[str, Any]:
    lay = Layout()
    lay.row("Health")
    lay.add(stat("Services up", 'sum(up{job=~"ingest|infer|aggregate|api"})', legend="up",
                 thresholds=[(None, "red"), (4, "green")],
                 description="Scrape targets answering; fewer than the pods you run means one is down."), w=6, h=5)
    lay.add(stat("Counted per second", f"sum(rate({COUNTED}[5m]))", unit="reqps"), w=6, h=5)
    lay.add(stat("End-to-end p99", "histogram_quantile(0.99, sum by (le) "
                 "(rate(pulse_aggregate_end_to_end_seconds_bucket[5m])))", unit="s",
                 thresholds=[(None, "green"), (5, "orange"), (30, "red")]), w=6, h=5)
    lay.add({"type": "table", "title": "Model bundle per inference pod", "datasource": DATASOURCE,
             "targets": [{**target("max by (instance, version) (pulse_infer_model_info)"), "format": "table",
                          "instant": True}],
             "fieldConfig": {"defaults": {}, "overrides": []}, "options": {"showHeader": True},
             "description": "Two versions at once means a canary is running (deploy/README.md#model-roll-outs)."},
            w=6, h=5)
    lay.row("Throughput")
    lay.add(timeseries("Tweets per second, per stage", [
        target("sum(rate(pulse_ingest_tweets_received_total[5m]))", "ingest received"),
        target("sum(rate(pulse_ingest_tweets_routed_total[5m]))", "ingest routed"),
        target("sum(rate(pulse_ingest_tweets_unrouted_total[5m]))", "ingest unrouted"),
        target("sum(rate(pulse_infer_tweets_consumed_total[5m]))", "infer consumed"),
        target("sum(rate(pulse_infer_predictions_total[5m]))", "infer (tweet, target) scored"),
        target("sum(rate(pulse_aggregate_records_consumed_total[5m]))", "aggregate consumed"),
        target(f"sum(rate({COUNTED}[5m]))", "aggregate counted"),
        target("sum(rate(pulse_aggregate_duplicates_total[5m]))", "aggregate duplicates (replays)"),
    ], unit="reqps"), w=12)
    lay.add(timeseries("Consumer lag (messages behind)", [target("pulse:consumer_lag:sum", "{{stage}}")],
                       description="Alert PulseConsumerLagGrowing: above 1000 and growing for 5 minutes."), w=12)
    lay.row("Batches and latency")
    lay.add(timeseries("Inference per batch (tokenise + ONNX)",
                       quantiles("pulse_infer_inference_seconds") + quantiles("pulse_infer_batch_seconds",
                                                                              legend_prefix="whole batch "),
                       unit="s", description="Alert PulseInferenceSlow: p99 above 1 s for 10 minutes."), w=8)
    lay.add(timeseries("Batch sizes", [
        target("sum(rate(pulse_infer_batch_size_sum[5m])) / sum(rate(pulse_infer_batch_size_count[5m]))",
               "infer mean (pairs)"),
        target("sum(rate(pulse_aggregate_batch_size_sum[5m])) / sum(rate(pulse_aggregate_batch_size_count[5m]))",
               "aggregate mean (records)"),
    ]), w=8)
    lay.add(timeseries("End to end: ingested → counted", quantiles("pulse_aggregate_end_to_end_seconds"), unit="s"),
            w=8)
    lay.row("Live sources")
    lay.add(timeseries("Live source events per second, by source and kind", [
        target("sum by (source, kind) (rate(pulse_ingest_source_events_total[5m]))", "{{source}} {{kind}}"),
        target("sum by (source) (rate(pulse_ingest_source_posts_routed_total[5m]))", "{{source}} routed"),
    ], unit="reqps", description="post: sent on; skipped: no text or another language; delete / other: only move "
                                 "the cursor; malformed: to the DLQ."), w=8)
    lay.add(timeseries("Cursor lag (how old the posts being read are)",
                       [target("max by (source) (pulse_ingest_source_cursor_lag_seconds)", "{{source}}")], unit="s",
                       description="Alert PulseSourceBehind: above 5 minutes for 10 minutes."), w=8)
    lay.add(timeseries("Connections: open, reconnects and gaps", [
        target("max by (source) (pulse_ingest_source_connected)", "{{source}} open"),
        target("sum by (source) (increase(pulse_ingest_source_reconnects_total[5m]))", "{{source}} reconnects / 5m"),
        target("sum by (source) (increase(pulse_ingest_source_gap_seconds_total[15m]))",
               "{{source}} seconds never read / 15m"),
    ], description="Alerts PulseSourceDisconnected (closed 5 minutes) and PulseSourceGap (any gap)."), w=8)
    lay.row("Dead letters and skipped routes")
    lay.add(timeseries("Dead letters per second, by stage and reason",
                       [target("pulse:dead_letters:rate5m", "{{stage}}: {{reason}}")], unit="reqps",
                       description="Read the topic for the messages and their reasons (pulse.dlq.* headers)."), w=12)
    lay.add(timeseries("Routes not scored (target not in the model)",
                       [target("sum by (target) (rate(pulse_infer_skipped_routes_total[5m]))", "{{target}}")],
                       unit="reqps"), w=12)
    return dashboard("pulse-pipeline", "Stance Pulse: pipeline",
                     "ingest → infer → aggregate: throughput, batches, latencies, lag and dead letters.", lay)


def api() -> dict[str, Any]:
    lay = Layout()
    lay.add(stat("Websocket subscribers", "sum(pulse_api_websocket_clients)"), w=8, h=5)
    lay.add(stat("Requests per second", "sum(rate(pulse_api_requests_total[5m]))", unit="reqps"), w=8, h=5)
    lay.add(stat("Server errors (5xx) per second", 'sum(rate(pulse_api_requests_total{status=~"5.."}[5m]))',
                 unit="reqps", thresholds=[(None, "green"), (0.01, "red")]), w=8, h=5)
    lay.add(timeseries("Requests per second, by route and status",
                       [target("sum by (route, status) (rate(pulse_api_requests_total[5m]))",
                               "{{route}} {{status}}")], unit="reqps"), w=12)
    lay.add(timeseries("Client errors (4xx) per second, by route",
                       [target('sum by (route) (rate(pulse_api_requests_total{status=~"4.."}[5m]))', "{{route}}")],
                       unit="reqps"), w=12)
    lay.add(timeseries("Latency by route", quantiles("pulse_api_request_seconds", by="route"), unit="s"), w=12)
    lay.add(timeseries("Websocket subscribers and pushes", [
        target("sum(pulse_api_websocket_clients)", "subscribers"),
        target("sum(rate(pulse_api_websocket_messages_total[5m]))", "snapshots pushed / s"),
        target("sum(rate(pulse_api_updates_received_total[5m]))", "updates from the aggregator / s"),
    ], description="Alert PulseWebsocketClientsGone: every subscriber gone while tweets are counted."), w=12)
    return dashboard("pulse-api", "Stance Pulse: API",
                     "REST and websocket: requests, errors, latency and subscribers.", lay)


DASHBOARDS = {"pulse": pulse, "pipeline": pipeline, "api": api}


def render() -> dict[str, str]:
    """File name → JSON text, deterministic (sorted keys) so the committed files diff cleanly."""
    return {f"{name}.json": json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the committed JSON differs from the code")
    args = p.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = GENERATED / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            GENERATED.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        sys.stderr.write(f"stale: {', '.join(stale)}; run python deploy/grafana/dashboards.py\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
