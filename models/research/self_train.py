"""Does self-training on the teacher's confident NONE teach an AWD-LSTM member to find neutral posts?

    python -m models.research.self_train --teacher models/release/ulmfit-small-v5 \\
        --like runs/u-small-cpu/bundle-lstm --baseline runs/u-small-cpu/ensemble/bundle-dev \\
        --encoder models/pretrained/lm-small-v1.pt --work runs/self-train --data-dir ../shared/data

The unlabelled political tweets about Donald Trump (the GOP debate set's Trump tweets and SemEval's
hashtag-labelled Trump tweets, their weak labels ignored) are scored by the teacher as it is served (NONE decision
weight included). Those it calls NONE with a NONE probability >= --min-confidence become NONE examples toward
Trump, at most --max-extra of them (the most confident first). A member is trained with the recipe of `--like` on
the fit part of the ensemble's dev split plus these tweets, with the class weights of the fit part alone (so only
the data changes), and measured beside `--baseline`, the twin trained the same way without them (trained here
when absent). Both are measured alone (no n-gram half), like the served model: the 3-class sets with the NONE
decision weight cross-fitted by halves (models/research/calibrate.py), P-Stance 2-class F_avg, and the dev split.

With --labels FAVOR,AGAINST,NONE it is plain self-training: the teacher's confident labels of every class.

The teacher saw the dev split in training, so its pseudo-labels may carry some of it: read the dev figures as
optimistic for the self-trained member; the evaluation sets are clean (the teacher never saw them).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.evaluation.data import Example
from models.evaluation.evaluate import evaluate_predictions
from models.research.weak_none import measure
from models.runtime.bundle import Bundle, load_bundle
from models.runtime.predictor import StanceModel
from models.training.corpus import DataDir, LeakFilter, leak_key
from models.training.ensemble import dev_split, load_encoder, train_like
from models.training.train_clf import class_weights

log = logging.getLogger(__name__)
TARGET = "Donald Trump"


def pseudo_labels(teacher: StanceModel, texts: list[str], min_confidence: float, max_extra: int,
                  labels: Sequence[str] = ("NONE",)) -> list[Example]:
    """For each of `labels`, the tweets the teacher serves as that label toward Trump with its probability >=
    min_confidence, most confident first, at most max_extra of each."""
    targets = [TARGET] * len(texts)
    probs = teacher.predict(texts, targets)
    decided = teacher.decide(probs, targets)
    out = []
    for label in labels:
        k = teacher.labels.index(label)
        keep = [i for i in np.argsort(-probs[:, k], kind="stable") if decided[i] == k and probs[i, k] >= min_confidence]
        out += [Example(texts[i], TARGET, label) for i in keep[:max_extra]]
    return out


def unlabelled(data: DataDir, seen: set[str]) -> list[str]:
    """The political tweets that name Trump, once each, minus any that equal a training or evaluation tweet."""
    out, keys = [], set(seen)
    for text in data.political():
        key = leak_key(text)
        if "trump" in text.lower() and key not in keys:
            keys.add(key)
            out.append(text)
    return out


def train_twin(like: Bundle, fit: list[Example], weights: list[float], encoder: dict[str, Any], work: Path,
               name: str, progress: bool) -> Path:
    out = work / f"bundle-{name}"
    if not (out / "meta.json").is_file():
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        train_like(like, fit, encoder, work / f"clf-{name}", out, f"{like.meta.version}-{name}", name, weights,
                   progress=progress, device=device)
    return out


def dev_figures(bundle_dir: Path, dev: list[Example]) -> dict[str, Any]:
    model = StanceModel(load_bundle(bundle_dir), prefer_gpu=False, calibrated=False)
    probs = model.predict([e.text for e in dev], [e.target for e in dev])
    m = evaluate_predictions(probs, dev, model.labels)
    return {"f_avg": m["f_avg"], "macro_f1": m["macro_f1"], "f1": m["f1"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.self_train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", required=True, help="the bundle whose served NONE labels the unlabelled tweets")
    p.add_argument("--like", required=True, help="a single-member bundle whose recipe the student follows")
    p.add_argument("--baseline", required=True, help="the dev twin of --like (trained into this folder if absent)")
    p.add_argument("--encoder", required=True, help="the fine-tuned LM behind --like (models/pretrained/lm-*.pt)")
    p.add_argument("--work", required=True)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--min-confidence", type=float, default=0.5)
    p.add_argument("--max-extra", type=int, default=2000, help="at most this many of each label")
    p.add_argument("--labels", default="NONE", help="the served labels to take, comma-separated (FAVOR,AGAINST,NONE: "
                   "plain self-training)")
    p.add_argument("--dev-frac", type=float, default=0.1)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data = DataDir(args.data_dir)
    leak = LeakFilter(data.eval_texts())
    train = leak.examples(data.stance_train(with_none=True))
    fit, dev = dev_split(train, args.dev_frac)
    like = load_bundle(args.like)
    weights = class_weights(fit, like.meta.labels)
    encoder = load_encoder(args.encoder)
    work = Path(args.work)

    pool = list(leak.texts(unlabelled(data, {leak_key(e.text) for e in train})))
    teacher = StanceModel(load_bundle(args.teacher), prefer_gpu=False)
    labels = args.labels.split(",")
    extra = pseudo_labels(teacher, pool, args.min_confidence, args.max_extra, labels)
    log.info("%d unlabelled Trump tweets, %d taken (%s)", len(pool), len(extra),
             ", ".join(f"{lab} {sum(e.label == lab for e in extra)}" for lab in labels))

    baseline = Path(args.baseline)
    if not (baseline / "meta.json").is_file():
        baseline = train_twin(like, fit, weights, encoder, baseline.parent, baseline.name.removeprefix("bundle-"),
                              not args.no_progress)
    name = "self-trained" if labels == ["NONE"] else "self-trained-" + "-".join(lab.lower() for lab in labels)
    student = train_twin(like, fit + extra, weights, encoder, work, name, not args.no_progress)
    taken = {lab: sum(e.label == lab for e in extra) for lab in labels}
    out: dict[str, Any] = {"unlabelled": len(pool), "pseudo_labelled": taken, "class_weights": weights}
    for name, path in (("baseline", baseline), ("self_trained", student)):
        out[name] = {"dev": dev_figures(path, dev), **measure(path, data)}
    print(json.dumps(rounded(out), indent=1))
    return 0


def rounded(obj: Any) -> Any:
    """Round floats for a readable report."""
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rounded(v) for v in obj]
    return obj


if __name__ == "__main__":
    raise SystemExit(main())
