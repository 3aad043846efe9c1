"""Shared fixtures: a small bundle really trained on the fixture tweets, once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.bundle import Bundle


@pytest.fixture(scope="session")
def fixture_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    from models.fixture_bundle import build_fixture_bundle

    root: Path = tmp_path_factory.mktemp("bundle")
    return build_fixture_bundle(root / "fixture", root / "work")
