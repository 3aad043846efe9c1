"""Prevalence-corrected shares for a snapshot: FAVOR / AGAINST / NONE per target and party, corrected for the
served model's measured error rates (models/runtime/quantify.py), with 95% intervals.

The error rates come from the bundle's `calibration` (confusion counts on labelled data it was not trained on).
A target without them (one the model does not score, or a bundle without calibration) gets no shares, and
neither does a party with counted posts about such a target: a partial correction would look exact.
Results are cached by (target, counts): the bootstrap is deterministic, and counts change only as posts arrive.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from models.runtime.calibration import Calibration
from models.runtime.quantify import Shares, corrected_shares, pooled
from services.common.schemas import LABELS

METHOD = "adjusted classify-and-count"


class ShareEstimator:
    def __init__(self, calibration: Calibration | None) -> None:
        self.calibration = calibration
        self._shares = lru_cache(maxsize=4096)(self._compute)
        if calibration is not None and list(calibration.labels) != list(LABELS):
            raise ValueError(f"calibration labels {calibration.labels} are not {LABELS}")

    def _compute(self, target: str, favor: int, against: int, none: int) -> Shares | None:
        assert self.calibration is not None
        return corrected_shares(np.array([favor, against, none]), self.calibration.targets[target].confusion)

    def target_shares(self, target: str, figures: dict[str, Any]) -> Shares | None:
        if self.calibration is None or target not in self.calibration.targets:
            return None
        return self._shares(target, figures["favor"], figures["against"], figures["none"])

    def annotate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """Adds `shares` to each target and party of a snapshot (null where they cannot be estimated)."""
        per_target: dict[str, Shares | None] = {}
        for name, figures in snapshot["targets"].items():
            per_target[name] = self.target_shares(name, figures)
            figures["shares"] = _publish(per_target[name])
        for figures in snapshot["parties"].values():
            parts = [(float(snapshot["targets"][t]["total"]), per_target.get(t)) for t in figures["targets"]
                     if snapshot["targets"].get(t, {}).get("total", 0) > 0]
            known = [(n, s) for n, s in parts if s is not None]
            figures["shares"] = _publish(pooled(known)) if parts and len(known) == len(parts) else None
        return snapshot


def _publish(shares: Shares | None) -> dict[str, Any] | None:
    if shares is None:
        return None
    out: dict[str, Any] = {label.lower(): {"estimate": round(float(shares.estimate[i]), 4),
                                           "low": round(float(shares.low[i]), 4),
                                           "high": round(float(shares.high[i]), 4)}
                           for i, label in enumerate(LABELS)}
    out["method"] = METHOD
    return out
