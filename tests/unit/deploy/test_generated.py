"""Files the deployment ships that are made from another source are current (deploy/generate.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.deploy.monitoring_refs import ROOT


def test_generated_deploy_files_are_current() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "deploy" / "generate.py"), "--check"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
