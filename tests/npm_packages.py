"""`npm ci` of a folder's pinned packages, once across parallel test workers.

Several xdist workers can need the same folder's node_modules at once (the CRD and workflow checks share
deploy/schemas; the browser tests web/), and two `npm ci` in one folder delete each other's files: the first
worker installs under an exclusive file lock, the others wait for it and find the packages there."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NPM = shutil.which("npm")


def installed(folder: Path) -> bool:
    marker, lock = folder / "node_modules" / ".package-lock.json", folder / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime


def npm_ci(folder: Path) -> Path:
    """folder/node_modules as folder/package-lock.json pins them; installed only when missing or stale."""
    locks = ROOT / ".cache"
    locks.mkdir(exist_ok=True)
    with open(locks / f"npm-ci-{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed(folder):
            assert NPM is not None, "npm is needed"
            subprocess.run([NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True,
                           capture_output=True, timeout=300)
    return folder / "node_modules"
