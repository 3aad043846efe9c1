"""Add the n-gram half to a ULMFiT bundle: per-target TF-IDF + logistic regression, averaged with the AWD-LSTM.

    python -m models.training.ensemble --data-dir ../shared/data --bundle <ulmfit bundle> \\
        --encoder models/pretrained/lm-small-v1.pt --work runs/ens-small --out <bundle dir> --version <name>

The weight of the n-gram probabilities is chosen on a dev split of the *training* data (never on an evaluation
set): a second classifier is trained like the bundle's but without the dev split (from the same fine-tuned LM
encoder, `--encoder`), the n-gram tables likewise, and the weight that maximises F_avg on the dev split wins.
The shipped tables are then refitted on all the training data. Resumable: the dev classifier checkpoints in
`--work`. The P-Stance validation set is only monitored, as in the main pipeline.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.evaluation.bundle_report import evaluate_bundle, summary
from models.evaluation.calibration_fit import fit_calibration, text_fold
from models.evaluation.data import Example
from models.evaluation.evaluate import evaluate_predictions
from models.runtime.bundle import Bundle, load_bundle, write_meta
from models.runtime.ngram import NGRAM_FILE, NgramScorer
from models.runtime.predictor import StanceModel
from models.training.awdlstm import AWDConfig
from models.training.build import train_and_export
from models.training.corpus import DataDir, LeakFilter
from models.training.ngram_fit import NgramConfig, fit_ngram_tables, save_tables
from models.training.onnx_mean import merge_bundles
from models.training.train_clf import TrainConfig

log = logging.getLogger(__name__)
WEIGHTS = tuple(round(0.05 * i, 2) for i in range(21))


def dev_split(examples: Sequence[Example], frac: float, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """A stratified (target, label) split: every group gives `frac` of its examples to dev."""
    groups: dict[tuple[str, str], list[Example]] = {}
    for e in examples:
        groups.setdefault((e.target, e.label), []).append(e)
    rng = random.Random(seed)
    train, dev = [], []
    for key in sorted(groups):
        rows = groups[key][:]
        rng.shuffle(rows)
        n_dev = round(len(rows) * frac)
        dev += rows[:n_dev]
        train += rows[n_dev:]
    return train, dev


def blend(p_lstm: np.ndarray, p_ngram: np.ndarray, weight: float) -> np.ndarray:
    """The ensemble's probabilities: `weight` on the n-gram model, the rest on the AWD-LSTM."""
    return (1.0 - weight) * p_lstm + weight * p_ngram


def choose_weight(p_lstm: np.ndarray, p_ngram: np.ndarray, dev: Sequence[Example], labels: Sequence[str],
                  weights: Sequence[float] = WEIGHTS) -> tuple[float, dict[float, float]]:
    """The n-gram weight with the best F_avg on dev (ties: the smaller weight), and every weight's score."""
    scores = {w: evaluate_predictions(blend(p_lstm, p_ngram, w), dev, labels)["f_avg"] for w in weights}
    best = max(scores.values())
    return min(w for w, s in scores.items() if s == best), scores


def train_like(bundle: Bundle, train: Sequence[Example], encoder_state: dict[str, Any] | None, work_dir: Path,
               out_dir: Path, version: str, variant: str, class_weights: Sequence[float] = (), progress: bool = True,
               device: Any = None) -> None:
    """Train and export a classifier with `bundle`'s recipe (architecture, training config, tokenizer, target
    position) on other data, from `encoder_state`; class weights from `train` unless given."""
    arch = {k: v for k, v in bundle.meta.architecture.items() if k != "type"}
    train_cfg = TrainConfig(**{**bundle.meta.provenance.get("train_config", {}), "class_weights": list(class_weights)})
    train_and_export(train, [], list(bundle.meta.labels), bundle.tokenizer_path, bundle.meta.max_len,
                     AWDConfig(**arch), train_cfg, work_dir, out_dir, version, {"variant": variant},
                     encoder_state=encoder_state, progress=progress, device=device,
                     target_position=bundle.meta.target_position)


def load_encoder(path: str | Path) -> dict[str, Any]:
    """The encoder weights of a fine-tuned LM checkpoint (models/pretrained/lm-*.pt), in float32."""
    lm = torch.load(path, weights_only=True)
    return {k.removeprefix("encoder."): v.float() for k, v in lm["model"].items() if k.startswith("encoder.")}


def build_ensemble(bundles: Sequence[Bundle], train: Sequence[Example],
                   encoder_states: Sequence[dict[str, Any] | None], work: Path, out: Path, version: str,
                   dev_frac: float = 0.1, ngram_cfg: NgramConfig | None = None, progress: bool = True,
                   device: Any = None) -> dict[str, Any]:
    """Write `out`: the AWD-LSTM bundles' ONNX models (one graph averaging them when several:
    models/training/onnx_mean.py) and tokenizer, the n-gram tables, and the chosen weight in meta. Each LSTM gets a
    twin trained like it on the fit part of the dev split, from that member's LM encoder (`encoder_states`, one per
    bundle); the twins' mean stands in for the members' mean when the weight is chosen."""

    ngram_cfg = ngram_cfg or NgramConfig()
    labels = list(bundles[0].meta.labels)
    fit, dev = dev_split(train, dev_frac)
    log.info("dev split: %d to fit, %d to choose the weight", len(fit), len(dev))
    if len(encoder_states) != len(bundles):
        raise ValueError(f"{len(bundles)} bundles but {len(encoder_states)} encoder states")
    twins = []
    for i, (bundle, encoder_state) in enumerate(zip(bundles, encoder_states, strict=True)):
        suffix = f"-{i}" if i else ""  # the first member's folders keep their single-model names
        dev_dir = work / f"bundle-dev{suffix}"
        if not (dev_dir / "meta.json").is_file():
            train_like(bundle, fit, encoder_state, work / f"clf-dev{suffix}", dev_dir, f"{version}-dev{suffix}",
                       "dev split", progress=progress, device=device)
        twins.append(StanceModel(load_bundle(dev_dir), prefer_gpu=False, precision="fp32"))
    p_lstm = np.mean([m.predict([e.text for e in dev], [e.target for e in dev]) for m in twins], axis=0)
    p_ngram = NgramScorer(fit_ngram_tables(fit, labels, ngram_cfg), labels).predict(
        [e.text for e in dev], [e.target for e in dev])
    weight, scores = choose_weight(p_lstm, p_ngram, dev, labels)
    log.info("n-gram weight %.2f (dev F_avg %.2f; LSTM alone %.2f, n-grams alone %.2f)",
             weight, scores[weight], scores[0.0], scores[1.0])

    lstm = bundles[0]
    if len(bundles) > 1:
        check = train[:: max(1, len(train) // 512)]
        lstm = merge_bundles(bundles, work / "bundle-lstm-mean", f"{version}-lstm-mean",
                             [e.text for e in check], [e.target for e in check])
    out.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "tokenizer.model"):
        shutil.copyfile(lstm.path / name, out / name)
    save_tables(out / NGRAM_FILE, fit_ngram_tables(train, labels, ngram_cfg), labels)
    # The served probabilities' error rates and temperature, from the dev twins on the dev split: the same recipe
    # without those tweets, so the figures are what the shipped model does on posts it never saw.
    calibration = fit_calibration(blend(p_lstm, p_ngram, weight), [e.label for e in dev], [e.target for e in dev],
                                  labels, fitted_on=f"the dev split ({len(dev)} tweets) scored by the dev twins",
                                  folds=[text_fold(e.text) for e in dev])
    meta = replace(lstm.meta, version=version, calibration=calibration, ensemble={
        "ngram_weight": weight, "ngram_file": NGRAM_FILE, "ngram_config": ngram_cfg.__dict__,
        "chosen_on": f"stratified {dev_frac:.0%} dev split of the training data ({len(dev)} tweets)",
        "dev_f_avg": {str(w): s for w, s in scores.items()},
    }, provenance={**lstm.meta.provenance, "lstm_bundle": lstm.meta.version})
    write_meta(out, meta)
    return {"weight": weight, "dev_f_avg": scores}


def main(argv: list[str] | None = None) -> int:


    p = argparse.ArgumentParser(prog="python -m models.training.ensemble", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--bundle", required=True, action="append",
                   help="the ULMFiT bundle to extend (repeat: the mean of several, on the same tokenizer)")
    p.add_argument("--encoder", required=True, action="append",
                   help="the fine-tuned LM behind it (models/pretrained/lm-*.pt); one per --bundle, or one for all")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--dev-frac", type=float, default=0.1)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data = DataDir(args.data_dir)
    train = LeakFilter(data.eval_texts()).examples(data.stance_train(with_none=True))
    if len(args.encoder) not in (1, len(args.bundle)):
        p.error("give one --encoder per --bundle, or one for all")

    encoders = [load_encoder(e) for e in args.encoder] * (len(args.bundle) if len(args.encoder) == 1 else 1)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result = build_ensemble([load_bundle(b) for b in args.bundle], train, encoders, Path(args.work), Path(args.out),
                            args.version, args.dev_frac, progress=not args.no_progress, device=device)
    report = evaluate_bundle(Path(args.out), data.eval_sets())
    out = load_bundle(args.out)
    write_meta(args.out, replace(out.meta, metrics={**out.meta.metrics, "eval": report,
                                                    "eval_lstm_only": out.meta.metrics.get("eval", {})}))
    print(json.dumps({"ensemble": result, "eval": summary(report)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
