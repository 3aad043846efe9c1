"""The ablation results file: per variant (the full recipe, or it without one step), the F_avg of each evaluation
set for every seed that was trained. `models.training.ulmfit --ablations --ablation-seeds 0,1,2` writes one into its
work folder; `models/results/ablations.json` is the one behind the model card (models/research/ablations.py renders
it).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABELS = {"ulmfit": "ULMFiT, every step", "no_lm_pretraining": "− LM pretraining (random init)",
          "no_tweet_lm_finetuning": "− stance-tweet LM stage", "no_gradual_unfreezing": "− gradual unfreezing"}


def variant_label(name: str) -> str:
    return LABELS.get(name, name)


@dataclass(frozen=True)
class Spread:
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Variant:
    name: str
    label: str  # what the model card calls it
    runs: dict[str, dict[str, float]]  # seed -> evaluation set -> F_avg

    def spread(self, eval_set: str) -> Spread:
        values = [r[eval_set] for r in self.runs.values() if eval_set in r]
        if not values:
            raise ValueError(f"variant {self.name!r} has no {eval_set} result")
        return Spread(round(statistics.fmean(values), 2), min(values), max(values), len(values))


def runs_entry(report: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """One seed's F_avg per evaluation set, from an evaluation report
    (models.evaluation.bundle_report.evaluate_bundle)."""
    return {name: float(m["f_avg"]) for name, m in report.items()}


def load(path: str | Path) -> list[Variant]:
    doc = json.loads(Path(path).read_text())
    return [Variant(v["name"], v.get("label", v["name"]), {str(k): dict(r) for k, r in v["runs"].items()})
            for v in doc["variants"]]


def save(path: str | Path, variants: Sequence[Variant], about: str = "") -> None:
    doc = {"about": about, "variants": [{"name": v.name, "label": v.label, "runs": v.runs} for v in variants]}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
