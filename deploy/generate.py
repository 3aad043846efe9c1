"""Files the deployment ships that are made from another source, kept where kubectl and promtool read them as shipped:

    deploy/k8s/base/routing.toml   ← services/common/routing.toml (the routing the services ship), so the base's
                                     ConfigMap generator reads a file inside the base (plain `kubectl kustomize`)
    deploy/prometheus/rules.yml    ← spec.groups of deploy/k8s/components/monitoring/alerts.yaml (the PrometheusRule),
                                     so `promtool check rules` / `promtool test rules` run on the shipped files

    python deploy/generate.py            write them
    python deploy/generate.py --check    exit 1 if one is stale (tests/unit/deploy/test_generated.py)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ROUTING_SOURCE = ROOT / "services" / "common" / "routing.toml"
ROUTING = ROOT / "deploy" / "k8s" / "base" / "routing.toml"
ALERTS = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "alerts.yaml"
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"


def render() -> dict[Path, str]:
    rules = yaml.safe_load(ALERTS.read_text())["spec"]["groups"]
    header = (f"# Generated from {ALERTS.relative_to(ROOT)} (spec.groups) by deploy/generate.py: edit that file, "
              "then run it.\n")
    return {
        ROUTING: ROUTING_SOURCE.read_text(),
        RULES: header + yaml.safe_dump({"groups": rules}, sort_keys=False, width=120),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python deploy/generate.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only report stale files")
    args = p.parse_args(argv)
    stale = [path for path, text in render().items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run python deploy/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in render().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
