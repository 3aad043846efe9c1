"""`pulse eval --csv FILE [--bundle DIR]`: accuracy, macro-F1, F_avg, per target and the confusion matrix.
`--baseline DIR`: instead, the bundle against that one on the same posts, with a paired bootstrap of the difference
(models/evaluation/live_comparison.py), as a Markdown table: a retrained bundle against the one it would replace,
on the reviewers' held-out labels."""

from __future__ import annotations

import argparse
import json
import sys

from models.evaluation.data import LABELS, DataError, read_csv
from models.evaluation.evaluate import evaluate_predictions
from models.evaluation.live_comparison import compare, markdown
from models.runtime.bundle import BundleError, resolve_bundle
from models.runtime.predictor import StanceModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", required=True, help="CSV with columns Tweet,Target,Stance")
    p.add_argument("--bundle", help="bundle folder (default: the newest in models/release/)")
    p.add_argument("--baseline", help="compare with this bundle on the same posts (paired bootstrap; Markdown)")
    p.add_argument("--two-class", action="store_true",
                   help="the data has no NONE: predict the likelier of FAVOR and AGAINST (P-Stance protocol); "
                        "the default when the file has no NONE row")


def run(args: argparse.Namespace) -> int:
    try:
        bundle = resolve_bundle(args.bundle)
        examples = read_csv(args.csv, LABELS)
    except (BundleError, DataError, FileNotFoundError, UnicodeDecodeError) as exc:
        print(f"pulse eval: {exc}", file=sys.stderr)
        return 2
    if not examples:
        print(f"pulse eval: {args.csv} has no rows", file=sys.stderr)
        return 2
    unknown = sorted({e.target for e in examples} - set(bundle.meta.targets))
    if unknown:
        print(f"pulse eval: the bundle {bundle.meta.version} knows {', '.join(bundle.meta.targets)}; "
              f"not {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.baseline:
        try:
            baseline = resolve_bundle(args.baseline)
            print(markdown(compare(examples, bundle.path, baseline.path), title=f"On {args.csv}"))
        except (BundleError, ValueError) as exc:
            print(f"pulse eval: {exc}", file=sys.stderr)
            return 2
        return 0
    model = StanceModel(bundle, prefer_gpu=False)
    probs = model.predict([e.text for e in examples], [e.target for e in examples])
    two_class = args.two_class or not any(e.label == "NONE" for e in examples)
    result = evaluate_predictions(probs, examples, model.labels, two_class=two_class,
                                  decided=model.decide(probs, [e.target for e in examples]))
    print(json.dumps({"bundle": bundle.meta.version, "two_class": two_class, **result}, indent=2))
    return 0
