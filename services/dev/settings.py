from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class UpSettings(BaseSettings):
    """`pulse up`'s own settings (the services' come from their settings classes)."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", frozen=True, hide_input_in_errors=True)

    var_dir: str = "var"  # logs, pids, Redis data and a fallback model (PULSE_VAR_DIR)
