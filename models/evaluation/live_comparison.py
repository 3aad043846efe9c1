"""Two bundles on the same labelled posts (a retrained one and the one it would replace), as infer serves each, with
a paired bootstrap of their difference: the reviewers' held-out labels decide whether a retrained bundle ships.

Paired: every resample draws the same posts for both bundles, so the interval is that of the difference itself,
far narrower than two separate intervals would suggest on a few hundred posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.data import Example, canonical_target
from models.evaluation.evaluate import stance_metrics
from models.runtime.agreement import METRICS, as_indices, resampled_metrics, resamples
from models.runtime.bundle import load_bundle
from models.runtime.labels import LABELS
from models.runtime.predictor import StanceModel

BOOTSTRAP_REPS = 2000


def served_labels(bundle_dir: Path, examples: Sequence[Example]) -> tuple[str, list[str]]:
    """The bundle's version and the label it serves for each post (int8 where it has one, its decision rule)."""
    bundle = load_bundle(bundle_dir)
    model = StanceModel(bundle, prefer_gpu=False)
    targets = [canonical_target(e.target) for e in examples]
    decided = model.decide(model.predict([e.text for e in examples], targets), targets)
    return bundle.meta.version, [model.labels[int(i)] for i in decided]


def paired_bootstrap(gold: Sequence[str], new: Sequence[str], base: Sequence[str], reps: int = BOOTSTRAP_REPS,
                     seed: int = 0) -> dict[str, dict[str, Any]]:
    """Per metric: the difference new − base on these posts, its 95% interval over resampled posts, and the share
    of resamples in which the new bundle is better."""
    g, n, b = as_indices(gold), as_indices(new), as_indices(base)
    everything = np.arange(len(g))[None, :]
    draws = resamples(len(g), reps, seed)
    new_point, base_point = resampled_metrics(g, n, everything), resampled_metrics(g, b, everything)
    new_draws, base_draws = resampled_metrics(g, n, draws), resampled_metrics(g, b, draws)
    out: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        diff = new_draws[metric] - base_draws[metric]
        low, high = np.percentile(diff, [2.5, 97.5])
        out[metric] = {"difference": round(float(new_point[metric][0] - base_point[metric][0]), 2),
                       "interval": [round(float(low), 2), round(float(high), 2)],
                       "new_better_share": round(float((diff > 0).mean()), 3)}
    return out


def compare(examples: Sequence[Example], bundle_dir: Path, baseline_dir: Path,
            reps: int = BOOTSTRAP_REPS) -> dict[str, Any]:
    """Both bundles' figures on the posts whose target both know, per target too, and the paired difference."""
    known = set(load_bundle(bundle_dir).meta.targets) & set(load_bundle(baseline_dir).meta.targets)
    kept = [e for e in examples if canonical_target(e.target) in known]
    if not kept:
        raise ValueError("no labelled post is about a target both bundles know")
    gold, targets = [e.label for e in kept], [canonical_target(e.target) for e in kept]
    new_version, new = served_labels(bundle_dir, kept)
    base_version, base = served_labels(baseline_dir, kept)
    return {
        "n": len(kept), "left_out_unknown_target": len(examples) - len(kept),
        "bundle": {"version": new_version, "path": str(bundle_dir), **_figures(gold, new, targets)},
        "baseline": {"version": base_version, "path": str(baseline_dir), **_figures(gold, base, targets)},
        "difference": paired_bootstrap(gold, new, base, reps),
    }


def _figures(gold: list[str], pred: list[str], targets: list[str]) -> dict[str, Any]:
    m = stance_metrics(gold, pred, list(LABELS), targets)
    return {**{k: m[k] for k in METRICS}, "f1": m["f1"], "confusion": m["confusion"],
            "per_target": {t: {k: v[k] for k in (*METRICS, "n")} for t, v in m["per_target"].items()}}


def markdown(result: dict[str, Any], title: str = "Held-out live labels") -> str:
    """The comparison as a Markdown table: each bundle's figures and the paired difference with its interval."""
    new, base, diff = result["bundle"], result["baseline"], result["difference"]
    # a retrained bundle often keeps the release's version name: then the folders tell them apart
    same = new["version"] == base["version"]
    new_name, base_name = (f"{b['version']} ({b['path']})" if same else b["version"] for b in (new, base))
    lines = [f"### {title}: {new_name} against {base_name} ({result['n']} posts)", "",
             f"| metric | {base_name} | {new_name} | difference (95% interval) | resamples better |",
             "|---|---:|---:|---|---:|"]
    for metric in METRICS:
        d = diff[metric]
        lines.append(f"| {metric} | {base[metric]:.2f} | {new[metric]:.2f} | {d['difference']:+.2f} "
                     f"({d['interval'][0]:+.2f} … {d['interval'][1]:+.2f}) | {100 * d['new_better_share']:.1f}% |")
    for target in sorted(new["per_target"]):
        a, b = base["per_target"][target], new["per_target"][target]
        lines.append(f"| {target}: macro_f1 ({b['n']} posts) | {a['macro_f1']:.2f} | {b['macro_f1']:.2f} | "
                     f"{b['macro_f1'] - a['macro_f1']:+.2f} | |")
    if result["left_out_unknown_target"]:
        lines.append(f"\n{result['left_out_unknown_target']} posts left out: a target one of the bundles does not "
                     "know.")
    return "\n".join(lines) + "\n"
