"""What each ULMFiT step adds, over several seeds: the summary table and the figure of a results file
(models/training/ablation_results.py).

    python -m models.research.ablations --results models/results/ablations.json --figure models/figures/ablations.png

One seed's F_avg moves by about a point between runs of the same recipe, so a step is only credited with a
difference larger than its seeds' spread.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from models.research.report import SET_TITLES, _plt, save_figure
from models.training.ablation_results import Variant, load

SETS = ("pstance_val_2class", "pstance_val_3class", "semeval_testA_hillary", "semeval_testB_trump", "kemlm_test")
SHORT = {"pstance_val_2class": "P-Stance 2c", "pstance_val_3class": "P-Stance 3c", "semeval_testA_hillary": "SemEval A",
         "semeval_testB_trump": "SemEval B", "kemlm_test": "KE-MLM"}

def markdown_table(variants: Sequence[Variant], sets: Sequence[str] = SETS) -> str:
    """Mean F_avg (lowest–highest over seeds) per set, one row per variant."""
    head = "| variant | seeds | " + " | ".join(SHORT.get(s, s) for s in sets) + " |"
    rows = [head, "|---|---:|" + "---:|" * len(sets)]
    for v in variants:
        cells = []
        for s in sets:
            sp = v.spread(s)
            cells.append(f"{sp.mean:.1f}" if sp.n == 1 else f"{sp.mean:.1f} ({sp.low:.1f}–{sp.high:.1f})")
        rows.append(f"| {v.label} | {len(v.runs)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plot(variants: Sequence[Variant], path: Path, sets: Sequence[str] = SETS) -> None:
    """One panel per evaluation set: every seed as a dot, the mean as a bar."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(sets), figsize=(3.0 * len(sets), 0.5 * len(variants) + 1.6), sharey=True)
    ys = range(len(variants))
    for ax, s in zip(axes, sets, strict=True):
        means = [v.spread(s).mean for v in variants]
        ax.barh(ys, means, color="tab:blue", alpha=0.35)
        for y, v in zip(ys, variants, strict=True):
            values = [r[s] for r in v.runs.values()]
            ax.scatter(values, [y] * len(values), color="tab:blue", s=14, zorder=3)
        low = min(min(r[s] for r in v.runs.values()) for v in variants)
        ax.set(xlim=(max(0.0, low - 5), max(means) + 5), title=SET_TITLES.get(s, s), xlabel="F_avg (%)")
        ax.title.set_fontsize(9)
    axes[0].set_yticks(list(ys), [v.label for v in variants], fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle("What each ULMFiT step adds (small AWD-LSTM, bars: mean over seeds, dots: each seed)", fontsize=10)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.ablations", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True, help="an ablations JSON (models/results/ablations.json)")
    p.add_argument("--figure", help="write the figure here (PNG)")
    args = p.parse_args(argv)
    variants = load(args.results)
    print(markdown_table(variants))
    if args.figure:
        plot(variants, Path(args.figure))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
