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
    # ONNX Runtime's threads busy-wait between a graph's nodes unless told not to: off, the int8 graph took 20-30%
    # less CPU per pair at the same throughput (models/runtime/predictor.py); on for a node of its own.
    spin_wait: bool = False
    prefer_gpu: bool = True
    precision: Literal["auto", "fp32", "int8"] = "auto"  # auto: the bundle's int8 graph on CPU, float on GPU
    metrics_port: int = 9102
    # Word explanations for the newest pairs of each batch, the ones the page's recent tweets show (every pair of a
    # small batch); 0 turns them off. Each costs about as much as scoring a pair again (exact, for the n-gram half)…
    explain_per_batch: int = 16
    # …except the newest `occlude_per_batch` of them, explained for the whole model (the LSTM included) by leaving
    # out one word at a time: up to 33 extra rows each (README: Explanations has the cost).
    occlude_per_batch: int = 1
    # Not ready while records wait and no batch has finished for this long (a stalled worker, whatever a ping says).
    stall_after_s: float = 30.0
