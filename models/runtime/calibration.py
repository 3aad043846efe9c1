"""Calibrated probabilities and the error rates behind corrected shares, per target, as served; numpy only.
(Fitting them on labelled data: models/evaluation/calibration_fit.py.)

A bundle's meta may carry `calibration`: for each target a temperature and the confusion counts measured on
labelled data the model was not trained on (`fitted_on` says which). The temperature divides the log of the
served probabilities (the ensemble's, so temperature scaling of log-probabilities): it changes how sure the
model says it is, never which label wins, so counts are unchanged and only the probabilities become honest. The
confusion counts are what the prevalence correction (models/runtime/quantify.py) inverts.

A target may also carry a decision weight for NONE (`none_bias`, a log weight): the served label is the argmax of
log p + bias on NONE, not of p. The model finds too few neutral posts (NONE is 7–15% of P-Stance); weighting
NONE up trades a little FAVOR/AGAINST precision for NONE recall. The bias maximises 3-class macro-F1 and is
served only when 2-fold cross-fitting shows the gain on held-out rows; the confusion counts are measured with
the same decision, so the corrected shares invert the counts the pipeline really makes.

With folds, each target also records whether correcting with its counts beat raw counting on the other half's
posts (`shares_check`, `serve_shares`; models/evaluation/share_check.py). Where it did not (a few dozen labelled
posts per class, or pooled sets whose error rates differ) the API serves no corrected shares for the target, and says
why, rather than an exact-looking figure that is no better than the raw one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NONE = "NONE"


def scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities: softmax(log p / T)."""
    logp = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=-1, keepdims=True)


def decide(probs: np.ndarray, none_index: int | None, bias: float) -> np.ndarray:
    """Label indices: the argmax of log p with `bias` added to NONE's."""
    if none_index is None or bias == 0.0:
        return np.asarray(probs).argmax(axis=1)
    logp = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0))
    logp[:, none_index] += bias
    return logp.argmax(axis=1)


@dataclass(frozen=True)
class TargetCalibration:
    temperature: float
    confusion: np.ndarray  # [true, predicted] counts on the calibration data, in the bundle's label order
    none_bias: float = 0.0  # log weight added to NONE before the argmax (module docstring)
    serve_shares: bool = True  # False: correcting with these counts did not beat raw counting when cross-fitted

    @property
    def error_rates(self) -> np.ndarray:
        """P(predicted = j | true = i), rows summing to 1 (Laplace-smoothed so no row is empty)."""
        c = self.confusion + 0.5
        return c / c.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Calibration:
    labels: tuple[str, ...]
    targets: Mapping[str, TargetCalibration]
    fitted_on: str

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None, labels: Sequence[str]) -> Calibration | None:
        if not meta or not meta.get("targets"):
            return None
        if list(meta.get("labels", labels)) != list(labels):
            raise ValueError(f"calibration labels {meta.get('labels')} differ from the bundle's {list(labels)}")
        return cls(tuple(labels), {t: TargetCalibration(float(v["temperature"]),
                                                        np.asarray(v["confusion"], dtype=np.float64),
                                                        float(v.get("none_bias", 0.0)),
                                                        bool(v.get("serve_shares", True)))
                                   for t, v in meta["targets"].items()}, str(meta.get("fitted_on", "")))

    def decide(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        """The served label index of each row: argmax, with the target's NONE weight where it has one."""
        out = np.asarray(probs).argmax(axis=1)
        none_index = self.labels.index(NONE) if NONE in self.labels else None
        for target in set(targets):
            cal = self.targets.get(target)
            if cal is None or cal.none_bias == 0.0 or none_index is None:
                continue
            rows = np.fromiter((i for i, t in enumerate(targets) if t == target), dtype=np.int64)
            out[rows] = decide(np.asarray(probs)[rows], none_index, cal.none_bias)
        return out

    def apply(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        out = np.array(probs, dtype=np.float32, copy=True)
        for target in set(targets):
            cal = self.targets.get(target)
            if cal is None or cal.temperature == 1.0:
                continue
            rows = np.fromiter((i for i, t in enumerate(targets) if t == target), dtype=np.int64)
            out[rows] = scale(out[rows].astype(np.float64), cal.temperature)
        return out
