"""What the alert rules and the Grafana dashboards refer to: their PromQL and the metric names in it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
ALERTS = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "alerts.yaml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards.py"
# Series Prometheus makes itself rather than scraping them.
SYNTHETIC = {"up"}


def rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load(ALERTS.read_text())["spec"]["groups"]  # type: ignore[no-any-return]


def rules() -> list[dict[str, Any]]:
    return [r for g in rule_groups() for r in g["rules"]]


def dashboards_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pulse_dashboards", DASHBOARDS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboard_exprs() -> dict[str, list[str]]:
    """Dashboard name → the PromQL of every target of every panel (and of the template variables)."""
    module = dashboards_module()
    out: dict[str, list[str]] = {}
    for name, build in module.DASHBOARDS.items():
        board = build()
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        exprs += [v["definition"] for v in board["templating"]["list"] if v.get("type") == "query"]
        out[name] = exprs
    return out


PROMQL_WORDS = {"sum", "rate", "increase", "irate", "deriv", "histogram_quantile", "label_replace", "clamp_min",
                "max_over_time", "vector", "by", "on", "and", "or", "unless", "max", "min", "avg", "count",
                "label_values", "without", "ignoring", "group_left", "group_right", "offset", "bool", "le"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or strings."""
    no_strings = re.sub(r'"[^"]*"', '""', re.sub(r"label_values\(([^,]+),\s*\w+\)", r"label_values(\1)", expr))
    no_labels = re.sub(r"\{[^}]*\}", "{}", no_strings)
    no_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", no_labels)
    no_ranges = re.sub(r"\[[^\]]*\]", "[]", no_groupings)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", no_ranges))
    functions = set(re.findall(r"([a-zA-Z_]+)\s*\(", no_ranges))
    return {n for n in names - PROMQL_WORDS - functions if not n.isdigit()}


def exported_names(families: list[Any]) -> set[str]:
    """Sample names a scrape can contain, from prometheus_client's parsed families (labelled metrics that
    have not been touched yet still announce themselves in # TYPE lines)."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "gauge": ("",), "summary": ("_count", "_sum", "_created", "")}
    out: set[str] = set()
    for f in families:
        out |= {f.name + s for s in suffixes.get(f.type, ("",))}
        out |= {s.name for s in f.samples}
    return out
