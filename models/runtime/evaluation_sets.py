"""The labelled sets a bundle is measured on (models/training/corpus.py reads them), described for readers, and the
per-target quality a bundle's metrics give on them: what the API shows behind the page's info buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EvaluationSet:
    name: str
    about: str
    three_labels: bool  # FAVOR, AGAINST and NONE: as the product counts (the 2-class sets leave NONE out)


EVALUATION_SETS = {
    "pstance_val_3class": EvaluationSet("P-Stance validation", "tweets about Trump, Biden and Sanders from the 2020 "
                                        "primaries, labelled by crowd workers", True),
    "pstance_val_2class": EvaluationSet("P-Stance validation, 2 labels", "the same tweets without NONE, as the "
                                        "P-Stance benchmark scores", False),
    "kemlm_test": EvaluationSet("KE-MLM test", "tweets about Biden and Trump, January–September 2020", True),
    "semeval_testA_hillary": EvaluationSet("SemEval-2016 test A", "tweets about Hillary Clinton, 2016", True),
    "semeval_testB_trump": EvaluationSet("SemEval-2016 test B", "tweets about Donald Trump, 2016, from a task "
                                         "without training data for him", True),
}


def quality_per_target(metrics: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """target → how the bundle did on each three-label set that has posts about it: accuracy and macro-F1 (in %)
    and the number of labelled posts. Sets a bundle was not measured on are left out."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, evaluation in EVALUATION_SETS.items():
        measured = metrics.get("eval", {}).get(key)
        if not evaluation.three_labels or not isinstance(measured, dict):
            continue
        for target, figures in sorted(measured.get("per_target", {}).items()):
            out.setdefault(target, []).append({
                "evaluation_set": key, "name": evaluation.name, "about": evaluation.about,
                "posts": int(figures["n"]), "accuracy": float(figures["accuracy"]),
                "macro_f1": float(figures["macro_f1"])})
    return out
