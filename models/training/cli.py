"""`pulse train`: build a model bundle from labelled CSVs (Tweet,Target,Stance). Resumable."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from models.evaluation.data import DataError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fixture", action="store_true", help="train the small fixture bundle (seconds)")
    p.add_argument("--train", nargs="+", default=[], metavar="CSV", help="training CSVs")
    p.add_argument("--val", nargs="*", default=[], metavar="CSV", help="validation CSVs")
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--work", help="checkpoints and tokenizer (default: OUT-work); rerun to resume")
    # From scratch (no pretrained LM), unlike BuildConfig's and TrainConfig's defaults, which assume a pretrained
    # encoder: more epochs and half the dropout (--drop-mult) suit a classifier that learns its embeddings here.
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--emb", type=int, default=400)
    p.add_argument("--hidden", type=int, default=1152)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--drop-mult", type=float, default=0.5)
    p.add_argument("--version", default="")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("pulse.train")
    out = Path(args.out)
    work = Path(args.work) if args.work else out.with_name(out.name + "-work")
    if args.fixture:
        from models.training.fixture_bundle import build_fixture_bundle  # torch: `--help` works without it

        bundle = build_fixture_bundle(out, work, progress=True)
        log.info("fixture bundle %s in %s", bundle.meta.version, out)
        return 0
    if not args.train:
        log.error("give --train CSV… (or --fixture)")
        return 2
    from models.training.build import BuildConfig, build_bundle  # torch: `--help` works without it
    from models.training.train_clf import TrainConfig

    cfg = BuildConfig(train_csvs=args.train, val_csvs=args.val, vocab_size=args.vocab, max_len=args.max_len,
                      emb_size=args.emb, hidden_size=args.hidden, n_layers=args.layers, drop_mult=args.drop_mult,
                      train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr),
                      version=args.version)
    try:
        meta = build_bundle(cfg, work, out)
    except (DataError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 2
    print(json.dumps(meta.metrics.get("val", {}), indent=2))
    return 0
