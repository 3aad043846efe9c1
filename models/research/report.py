"""Figures for the model card, from what the bundles record in meta.json (nothing is retrained).

    python -m models.research.report --bundle models/release/ulmfit-small-v5 \\
        --lm-bundle models/release/ulmfit-small-v5 \\
        --out models/figures

Writes: lm_perplexity.png (both LM stages), classifier_curves.png (training loss and P-Stance val F_avg per
epoch), ensemble_weight.png (dev F_avg against the n-gram weight), confusion_<set>.png (each evaluation set).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from models.runtime.bundle import load_bundle

SET_TITLES = {"pstance_val_2class": "P-Stance val (2-class)", "pstance_val_3class": "P-Stance val (3-class)",
              "semeval_testA_hillary": "SemEval-2016 A, Hillary Clinton",
              "semeval_testB_trump": "SemEval-2016 B, Trump", "kemlm_test": "KE-MLM test (Biden, Trump)"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)


def lm_perplexity(meta_provenance: dict[str, Any], path: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (stage, title) in zip(axes, (("general_and_tweets", "Stage 1: WikiText-2 + tweets"),
                                         ("stance_tweets", "Stage 2: stance tweets")), strict=True):
        hist = meta_provenance["lm"][stage]["history"]
        epochs = [h["epoch"] for h in hist]
        ax.plot(epochs, [h["train_ppl"] for h in hist], label="training")
        ax.plot(epochs, [h["valid_ppl"] for h in hist], label="held-out 2%")
        ax.set(title=title, xlabel="epoch", ylabel="perplexity", yscale="log")
        ax.legend()
    save_figure(fig, path)


def classifier_curves(history: list[dict[str, float]], title: str, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], color="tab:blue", label="training loss")
    ax.set(xlabel="epoch", ylabel="training loss (weighted cross-entropy)", title=title)
    if all("val_f_avg" in h for h in history):
        ax2 = ax.twinx()
        ax2.plot(epochs, [h["val_f_avg"] for h in history], color="tab:red", label="P-Stance val F_avg (3-class)")
        ax2.set_ylabel("F_avg (%)")
        ax2.legend(loc="lower right")
    ax.legend(loc="upper right")
    save_figure(fig, path)


def ensemble_weight(dev_f_avg: dict[str, float], chosen: float, path: Path) -> None:
    plt = _plt()
    weights = sorted(float(w) for w in dev_f_avg)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(weights, [dev_f_avg[_key(w, dev_f_avg)] for w in weights], marker="o")
    ax.axvline(chosen, color="tab:red", linestyle="--", label=f"chosen: {chosen:.2f}")
    ax.set(xlabel="weight of the n-gram model (0 = AWD-LSTM alone, 1 = n-grams alone)",
           ylabel="dev F_avg (%)", title="Choosing the ensemble weight on the training data's dev split")
    ax.legend()
    save_figure(fig, path)


def _key(w: float, d: dict[str, float]) -> str:
    return next(k for k in d if abs(float(k) - w) < 1e-9)


def confusion(matrix: dict[str, dict[str, int]], title: str, path: Path) -> None:
    plt = _plt()
    gold = list(matrix)
    pred = [p for p in next(iter(matrix.values())) if any(matrix[g].get(p, 0) for g in gold) or p in gold]
    m = np.array([[matrix[g].get(p, 0) for p in pred] for g in gold], dtype=float)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(gold)):
        for j in range(len(pred)):
            ax.text(j, i, f"{int(m[i, j])}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black", fontsize=9)
    ax.set(xticks=range(len(pred)), xticklabels=pred, yticks=range(len(gold)), yticklabels=gold,
           xlabel="predicted", ylabel="gold", title=title)
    ax.title.set_fontsize(10)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="the shipped bundle (its meta.json has the evaluation)")
    p.add_argument("--lm-bundle", help="a bundle whose provenance holds the LM stages' history")
    p.add_argument("--lstm-history", help="meta.json of the AWD-LSTM behind an ensemble (its training history)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = load_bundle(args.bundle).meta
    if args.lm_bundle:
        lm_perplexity(load_bundle(args.lm_bundle).meta.provenance, out / "lm_perplexity.png")
    history = meta.metrics.get("history")
    if args.lstm_history:
        import json

        history = json.loads(Path(args.lstm_history).read_text())["metrics"]["history"]
    if history:
        classifier_curves(history, f"{meta.version}: AWD-LSTM classifier", out / "classifier_curves.png")
    if meta.ensemble:
        ensemble_weight(meta.ensemble["dev_f_avg"], meta.ngram_weight, out / "ensemble_weight.png")
    for name, result in meta.metrics.get("eval", {}).items():
        confusion(result["confusion"], f"{meta.version}\n{SET_TITLES.get(name, name)}", out / f"confusion_{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
