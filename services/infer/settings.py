from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class InferSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_INFER_", frozen=True, hide_input_in_errors=True)

    bundle: str = ""  # model bundle folder; empty: the newest in models/release/
    group_id: str = "pulse-infer"
    batch_size: int = 256  # flush at this many tweets…
    batch_wait_ms: int = 50  # …or this long after the batch's first tweet, whichever first
    intra_op_threads: int = 0  # ONNX Runtime threads; 0: one per core
    prefer_gpu: bool = True
    precision: Literal["auto", "fp32", "int8"] = "auto"  # auto: the bundle's int8 graph on CPU, float on GPU
    metrics_port: int = 9102
    # Word explanations (exact, for the n-gram half) for the newest pairs of each batch, the ones the page's recent
    # tweets show; every pair of a small batch. Each costs about as much as scoring a pair again: 0 turns them off.
    explain_per_batch: int = 16
