"""The alert rules pass promtool's checks and their unit tests; every alert has a test and a runbook entry."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.monitoring_refs import ALERT_TESTS, ROOT, rule_groups, rules

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (make test installs "
                                                                "Debian's prometheus package as root)")


@pytest.fixture()
def rule_dir(tmp_path: Path) -> Path:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups()}, sort_keys=False))
    shutil.copy(ALERT_TESTS, tmp_path / "alerts_test.yml")
    return tmp_path


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


SHIPPED = ROOT / "deploy" / "prometheus"


@needs_promtool
def test_the_shipped_rules_pass_promtool_check() -> None:
    out = promtool("check", "rules", "rules.yml", cwd=SHIPPED)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(rules())} rules found" in out.stdout


@needs_promtool
def test_the_shipped_rules_pass_their_unit_tests() -> None:
    out = promtool("test", "rules", "alerts_test.yml", cwd=SHIPPED)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_the_unit_tests_can_fail(rule_dir: Path) -> None:
    # Raise the lag threshold past what the test feeds in: the "fires" case must now fail.
    rules_file = rule_dir / "rules.yml"
    text = rules_file.read_text()
    rules_file.write_text(text.replace("pulse:consumer_lag:sum > 1000", "pulse:consumer_lag:sum > 1e9"))
    out = promtool("test", "rules", "alerts_test.yml", cwd=rule_dir)
    assert out.returncode != 0 and "PulseConsumerLagGrowing" in out.stdout + out.stderr


def test_every_alert_is_tested_and_has_a_runbook_entry() -> None:
    alerts = {r["alert"]: r for r in rules() if "alert" in r}
    assert len(alerts) >= 6
    tested = {case["alertname"] for t in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
              for case in t.get("alert_rule_test", [])}
    assert set(alerts) <= tested
    readme = (ROOT / "deploy" / "README.md").read_text()
    headings = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", readme, re.M)}
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, name  # info: news, not on-call
        assert rule["annotations"]["runbook"] == f"deploy/README.md#{name.lower()}", name
        assert name.lower() in headings, f"deploy/README.md has no section for {name}"
