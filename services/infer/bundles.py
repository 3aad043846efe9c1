"""Which model bundle to serve: the configured one, else the newest shipped release, else a fixture-trained one."""

from __future__ import annotations

import logging
from pathlib import Path

import models
from models.bundle import Bundle, find_release_bundle, load_bundle

log = logging.getLogger(__name__)

RELEASE_DIR = Path(models.__file__).parent / "release"


def resolve_bundle(configured: str, fallback_dir: Path | None = None) -> Bundle:
    if configured:
        return load_bundle(configured)
    release = find_release_bundle(RELEASE_DIR)
    if release is not None:
        return load_bundle(release)
    if fallback_dir is None:
        raise FileNotFoundError(f"no model bundle in {RELEASE_DIR} and none configured (PULSE_INFER_BUNDLE)")
    log.warning("no model bundle shipped in %s: training a small one from the fixture tweets into %s "
                "(demo quality only)", RELEASE_DIR, fallback_dir)
    from models.fixture_bundle import build_fixture_bundle

    return build_fixture_bundle(fallback_dir)
