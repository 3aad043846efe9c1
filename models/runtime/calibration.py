"""Calibrated probabilities and the error rates behind corrected shares, per target; numpy only.

A bundle's meta may carry `calibration`: for each target a temperature and the confusion counts measured on
labelled data the model was not trained on (`fitted_on` says which). The temperature divides the log of the
served probabilities (the ensemble's, so temperature scaling of log-probabilities): it changes how sure the
model says it is, never which label wins, so counts are unchanged and only the probabilities become honest. The
confusion counts are what the prevalence correction (models/runtime/quantify.py) inverts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ECE_BINS = 15
TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(5.0), 161))  # the grid a temperature is chosen from


def text_fold(text: str) -> int:
    """0 or 1 from a hash of the text: a split that is the same on every run and machine (cross-fitting)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=2).digest()[0] % 2


def scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities: softmax(log p / T)."""
    logp = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=-1, keepdims=True)


def nll(probs: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(gold)), gold], 1e-12, 1.0))))


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """The temperature with the least negative log-likelihood on (probs, gold index), from a log grid."""
    losses = [nll(scale(probs, t), gold) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the top label: the bin-weighted gap between confidence and accuracy, equal-width bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def reliability(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per confidence bin: mean confidence, accuracy and count (a reliability diagram's points)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return [{"confidence": float(conf[which == b].mean()), "accuracy": float(correct[which == b].mean()),
             "n": int((which == b).sum())} for b in range(bins) if (which == b).any()]


@dataclass(frozen=True)
class TargetCalibration:
    temperature: float
    confusion: np.ndarray  # [true, predicted] counts on the calibration data, in the bundle's label order

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
                                                        np.asarray(v["confusion"], dtype=np.float64))
                                   for t, v in meta["targets"].items()}, str(meta.get("fitted_on", "")))

    def apply(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        out = np.array(probs, dtype=np.float32, copy=True)
        for target in set(targets):
            cal = self.targets.get(target)
            if cal is None or cal.temperature == 1.0:
                continue
            rows = np.fromiter((i for i, t in enumerate(targets) if t == target), dtype=np.int64)
            out[rows] = scale(out[rows].astype(np.float64), cal.temperature)
        return out


def fit_calibration(probs: np.ndarray, gold: Sequence[str], targets: Sequence[str], labels: Sequence[str],
                    fitted_on: str, min_examples: int = 50, folds: Sequence[int] | None = None) -> dict[str, Any]:
    """The `calibration` meta block: per target with at least `min_examples` rows, a temperature and the
    confusion counts, with the figures (NLL, ECE) for the model card.

    With `folds` (0 or 1 per row) the temperature is checked by 2-fold cross-fitting: each half scaled with the
    temperature fitted on the other. It is served only if that lowered both the held-out ECE and NLL; otherwise
    the probabilities are already as honest as a temperature makes them and 1.0 is served.
    """
    gold_idx = np.array([list(labels).index(g) for g in gold])
    tg = np.asarray(targets)
    fold_arr = np.asarray(folds) if folds is not None else None
    out: dict[str, Any] = {"labels": list(labels), "fitted_on": fitted_on, "targets": {}}
    for target in sorted(set(targets)):
        rows = tg == target
        if rows.sum() < min_examples:
            continue
        p, g = probs[rows].astype(np.float64), gold_idx[rows]
        t = fit_temperature(p, g)
        pred = p.argmax(axis=1)
        confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
        np.add.at(confusion, (g, pred), 1)
        entry: dict[str, Any] = {"temperature": round(t, 4), "confusion": confusion.tolist(), "n": int(rows.sum())}
        if fold_arr is not None:
            f = fold_arr[rows]
            held = p.copy()
            for k in (0, 1):
                if (f == k).any() and (f != k).any():
                    held[f == k] = scale(p[f == k], fit_temperature(p[f != k], g[f != k]))
            ece = [expected_calibration_error(p, g), expected_calibration_error(held, g)]
            loss = [nll(p, g), nll(held, g)]
            entry["cross_fitted"] = {"ece": [round(x, 4) for x in ece], "nll": [round(x, 4) for x in loss]}
            if not (ece[1] < ece[0] and loss[1] < loss[0]):
                entry["temperature"] = 1.0
        out["targets"][target] = entry
    return out
