from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class UpSettings(BaseSettings):
    """`pulse up`'s own settings (the services' come from their settings classes)."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", frozen=True, hide_input_in_errors=True)

    var_dir: str = "var"  # logs, pids, the broker's and Redis's data and a fallback model (PULSE_VAR_DIR)
    # The demo's real posts: the held-out labelled sets in the shared data folder (services/dev/demo_posts.py).
    demo_data: str = "../shared/data"
    # Where the local broker keeps its records: "objects" (a SeaweedFS store under var_dir, surviving restarts: a
    # stopped stack resumes where it was) or "memory" (lost when it stops; no object-store round trip per produce,
    # a floor for benchmarks: `pulse bench --e2e --set PULSE_BROKER_STORAGE=memory`; never trimmed by retention).
    broker_storage: Literal["objects", "memory"] = "objects"
    # Retention of the local broker (services/dev/retention.py): records every consumer group has committed past
    # are kept this long, within these bounds per partition; records a group has not consumed are never deleted.
    broker_retention_s: float = 3600.0
    broker_retention_bytes: int = 256 * 1024 * 1024
    broker_retention_batches: int = 2000
    broker_retention_check_s: float = 30.0
