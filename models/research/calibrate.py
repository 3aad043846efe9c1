"""Calibrate a bundle and measure its prevalence correction on labelled 3-class data it was not trained on.

    python -m models.research.calibrate --bundle models/release/ulmfit-small-v5 --data-dir ../shared/data --write

Reads the 3-class evaluation sets (P-Stance val with NONE, SemEval A Hillary Clinton, SemEval B, KE-MLM test),
scores them once with the served graph, uncalibrated, and reports with 2-fold cross-fitting (the folds split by a
hash of the text; each fold is measured with what was fitted on the other, so no figure is measured on its own
fitting data):
  - per target: NLL and expected calibration error (ECE) before and after temperature scaling;
  - per target and per set: 3-class macro-F1 and NONE F1 with the bare argmax and with the NONE decision weight
    (models/runtime/calibration.py) fitted on the other half;
  - per target and class mix: the total absolute error of raw classify-and-count and of the corrected shares
    (models/runtime/quantify.py) on streams sampled from the held-out fold at that mix, and how often the 95%
    intervals cover the truth.
With --write it fits on all the rows and stores the result in the bundle's meta.json (`calibration`), draws the
reliability diagram into models/figures/ and writes the figures to models/results/calibration.json.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.calibration_fit import (
    expected_calibration_error,
    fit_calibration,
    macro_f1,
    nll,
    reliability,
    text_fold,
)
from models.evaluation.share_check import CHECK_MIXES, MIN_CLASS_ROWS, sample_window
from models.runtime.bundle import load_bundle, write_meta
from models.runtime.calibration import Calibration
from models.runtime.predictor import StanceModel
from models.runtime.quantify import corrected_shares
from models.training.corpus import DataDir

log = logging.getLogger(__name__)
SETS = ("pstance_val_3class", "semeval_testA_hillary", "semeval_testB_trump", "kemlm_test")
MIXES = CHECK_MIXES  # the mixes the served check uses, so the card's table and serve_shares agree
STREAM = 1000  # posts per simulated window
TRIALS = 30
ROOT = Path(__file__).resolve().parents[1]


def stream_errors(pred: np.ndarray, gold: np.ndarray, calibration: dict[str, Any], target: str,
                  rng: np.random.Generator) -> dict[str, Any]:
    """Raw and corrected share errors on streams drawn (with replacement) from these rows (their served labels)
    at each mix."""
    confusion = calibration["targets"][target]["confusion"]
    by_class = [np.flatnonzero(gold == k) for k in range(3)]
    if any(len(rows) < MIN_CLASS_ROWS for rows in by_class):
        return {}
    out = {}
    for mix in MIXES:
        raw, acc, covered = [], [], 0
        for _ in range(TRIALS):
            rows, truth = sample_window(by_class, mix, STREAM, rng)
            counts = np.bincount(pred[rows], minlength=3)
            shares = corrected_shares(counts, np.asarray(confusion), rng=rng)
            assert shares is not None
            raw.append(float(np.abs(counts / STREAM - truth).sum()))
            acc.append(float(np.abs(shares.estimate - truth).sum()))
            covered += bool(np.all((shares.low <= truth) & (truth <= shares.high)))
        out["/".join(f"{m:.2f}" for m in mix)] = {"raw": round(float(np.mean(raw)), 4),
                                                  "corrected": round(float(np.mean(acc)), 4),
                                                  "covered": round(covered / TRIALS, 3)}
    return out


def cross_fitted(probs: np.ndarray, gold: list[str], targets: list[str], texts: list[str],
                 labels: Sequence[str], sets: Sequence[str] | None = None) -> dict[str, Any]:
    folds = np.array([text_fold(t) for t in texts])
    gold_idx = np.array([list(labels).index(g) for g in gold])
    tg = np.asarray(targets)
    rng = np.random.default_rng(0)
    report: dict[str, Any] = {}
    calibrated = np.empty_like(probs)
    decided = probs.argmax(axis=1)
    for k in (0, 1):
        fit = folds != k
        cal_meta = fit_calibration(probs[fit], [gold[i] for i in np.flatnonzero(fit)], list(tg[fit]), labels,
                                   fitted_on=f"fold {1 - k}", always_fit_bias=True)
        cal = Calibration.from_meta(cal_meta, labels)
        held = np.flatnonzero(~fit)
        calibrated[held] = cal.apply(probs[held], list(tg[held])) if cal else probs[held]
        if cal:
            decided[held] = cal.decide(calibrated[held], list(tg[held]))
        for target in cal_meta["targets"]:
            rows = held[tg[held] == target]
            errors = stream_errors(decided[rows], gold_idx[rows], cal_meta, target, rng)
            for mix, e in errors.items():
                slot = report.setdefault(target, {}).setdefault("streams", {}).setdefault(mix, [])
                slot.append(e)
    for target in sorted(set(targets)):
        rows = tg == target
        if target not in report:
            continue
        p, c, g = probs[rows], calibrated[rows], gold_idx[rows]
        before, after = p.argmax(axis=1), decided[rows]
        report[target].update({
            "n": int(rows.sum()),
            "macro_f1": [round(100 * macro_f1(g, before, 3), 2), round(100 * macro_f1(g, after, 3), 2)],
            "none_f1": [round(100 * none_f1(g, before, labels), 2), round(100 * none_f1(g, after, labels), 2)],
            "nll": [round(nll(p, g), 4), round(nll(c, g), 4)],
            "ece": [round(100 * expected_calibration_error(p, g), 2), round(100 * expected_calibration_error(c, g), 2)],
        })
        report[target]["streams"] = {mix: {key: round(float(np.mean([f[key] for f in folds_])), 4)
                                           for key in ("raw", "corrected", "covered")}
                                     for mix, folds_ in report[target]["streams"].items()}
    g_all = gold_idx
    if sets is not None:
        names = np.asarray(sets)
        report["sets"] = {}
        for name in dict.fromkeys(sets):
            rows = names == name
            g, before, after = gold_idx[rows], probs[rows].argmax(axis=1), decided[rows]
            report["sets"][name] = {
                "n": int(rows.sum()),
                "macro_f1": [round(100 * macro_f1(g, before, 3), 2), round(100 * macro_f1(g, after, 3), 2)],
                "none_f1": [round(100 * none_f1(g, before, labels), 2), round(100 * none_f1(g, after, labels), 2)]}
    report["all"] = {"n": len(gold),
                     "ece": [round(100 * expected_calibration_error(probs, g_all), 2),
                             round(100 * expected_calibration_error(calibrated, g_all), 2)],
                     "nll": [round(nll(probs, g_all), 4), round(nll(calibrated, g_all), 4)],
                     "reliability": {"before": reliability(probs, g_all), "after": reliability(calibrated, g_all)}}
    return report


def none_f1(gold: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> float:
    k = list(labels).index("NONE")
    tp, denom = float(np.sum((pred == k) & (gold == k))), float(np.sum(pred == k) + np.sum(gold == k))
    return 2 * tp / denom if denom else 0.0


def plot_reliability(report: dict[str, Any], path: Path, version: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", label="perfectly calibrated")
    for key, colour in (("before", "tab:red"), ("after", "tab:blue")):
        pts = report["all"]["reliability"][key]
        ece = report["all"]["ece"][0 if key == "before" else 1]
        ax.plot([p["confidence"] for p in pts], [p["accuracy"] for p in pts], marker="o", color=colour,
                label=f"{key} temperature scaling (ECE {ece:.1f})")
    ax.set_xlabel("confidence (top label)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{version}: reliability, 3-class sets\n(2-fold cross-fitted)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--write", action="store_true", help="store the calibration in the bundle's meta.json")
    args = p.parse_args(argv)
    bundle = load_bundle(args.bundle)
    model = StanceModel(bundle, prefer_gpu=False, calibrated=False)
    sets = DataDir(args.data_dir).eval_sets()
    named = [(name, e) for name in SETS for e in sets[name] if e.target in model.targets]
    rows = [e for _, e in named]
    texts, targets, gold = [e.text for e in rows], [e.target for e in rows], [e.label for e in rows]
    log.info("scoring %d rows of %s", len(rows), ", ".join(SETS))
    probs = model.predict(texts, targets).astype(np.float64)
    report = cross_fitted(probs, gold, targets, texts, model.labels, [name for name, _ in named])
    print(json.dumps({t: {k: v for k, v in r.items() if k != "reliability"} for t, r in report.items()}, indent=1))
    if args.write:
        fitted = fit_calibration(probs, gold, targets, model.labels,
                                 fitted_on="the 3-class evaluation sets (" + ", ".join(SETS) + "); figures "
                                           "2-fold cross-fitted (models/results/calibration.json)",
                                 folds=[text_fold(t) for t in texts])
        write_meta(bundle.path, replace(bundle.meta, calibration=fitted))
        (ROOT / "results" / "calibration.json").write_text(json.dumps(
            {"bundle": bundle.meta.version, "cross_fitted": report, "served": fitted}, indent=1) + "\n")
        plot_reliability(report, ROOT / "figures" / "reliability.png", bundle.meta.version)
        log.info("calibration written into %s", bundle.path / "meta.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
