"""The README's settings table and the settings classes agree: every variable a service reads has a row, and every
row names variables that exist. A row may name several, `PULSE_INGEST_LIVE_BACKOFF_INITIAL_S`, `_BACKOFF_MAX_S`:
a name starting with `_` replaces the tail of the row's first one."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic_settings import BaseSettings

from services.aggregate.settings import AggregateSettings
from services.api.settings import ApiSettings
from services.common.settings import KafkaSettings, RedisSettings, RoutingSettings
from services.dev.settings import UpSettings
from services.infer.settings import InferSettings
from services.ingest.settings import BlueskySettings, IngestSettings, LiveSettings, MastodonSettings, XSettings

README = Path(__file__).resolve().parents[3] / "README.md"
CLASSES: list[type[BaseSettings]] = [KafkaSettings, RedisSettings, RoutingSettings, IngestSettings, LiveSettings,
                                     BlueskySettings, MastodonSettings, XSettings, InferSettings, AggregateSettings,
                                     ApiSettings, UpSettings]


def variables() -> set[str]:
    return {f"{cls.model_config.get('env_prefix', '')}{name}".upper() for cls in CLASSES for name in cls.model_fields}


def documented(known: set[str]) -> tuple[set[str], list[str]]:
    """(the variables the table names, the names in it that resolve to no variable)."""
    text = README.read_text()
    table = text[text.index("## Settings"):text.index("## Metrics")]
    names, unknown = set(), []
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        first_cell = row.split("|")[1]
        tokens = re.findall(r"`([A-Z_][A-Z0-9_]*)`", first_cell)
        head = tokens[0]
        for token in tokens:
            if token.startswith("_"):
                parts = head.split("_")
                candidates = ["_".join(parts[:i]) + token for i in range(len(parts) - 1, 0, -1)]
                token = next((c for c in candidates if c in known), token)
            (names.add if token in known else unknown.append)(token)
    return names, unknown


def test_every_setting_has_a_row_and_every_row_a_setting() -> None:
    known = variables()
    names, unknown = documented(known)
    assert not unknown, f"README rows name variables no settings class reads: {unknown}"
    assert not known - names, f"settings without a README row: {sorted(known - names)}"
