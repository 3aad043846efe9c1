"""A bundle's figures on labelled evaluation sets, computed as infer serves it (the same predictor, the same graph)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.evaluation.data import canonical_target
from models.evaluation.evaluate import evaluate_predictions
from models.runtime.bundle import load_bundle
from models.runtime.predictor import StanceModel


def evaluate_bundle(bundle_dir: Path, evals: dict[str, list[Any]], precision: str = "auto") -> dict[str, Any]:
    """Every evaluation set through the ONNX model, as infer would serve it on a CPU (int8 where it has one)."""
    model = StanceModel(load_bundle(bundle_dir), prefer_gpu=False, precision=precision)
    out = {}
    for name, examples in evals.items():
        targets = [canonical_target(e.target) for e in examples]
        probs = model.predict([e.text for e in examples], targets)
        out[name] = evaluate_predictions(probs, examples, model.labels, two_class=name.endswith("2class"),
                                         decided=model.decide(probs, targets))
    return out


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of an evaluation report: F_avg, macro-F1 and F_avg per target, per evaluation set."""
    return {name: {"f_avg": m["f_avg"], "macro_f1": m["macro_f1"],
                   "per_target_f_avg": {t: v["f_avg"] for t, v in m.get("per_target", {}).items()}}
            for name, m in report.items()}
