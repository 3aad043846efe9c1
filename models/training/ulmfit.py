"""The ULMFiT pipeline: tokenizer → general+tweet LM → stance-tweet LM fine-tuning → classifier → bundle → eval.

    python -m models.training.ulmfit --data-dir ../shared/data --work runs/ulmfit-small --out runs/release/NAME \\
        --size small

Every stage writes its result into --work and is skipped when the result is there, so an interrupted run
resumes where it stopped (the LM and classifier stages also resume mid-stage from their epoch checkpoints).
`--ablations` also trains the classifier without LM pretraining, without the stance-tweet LM stage and without
gradual unfreezing, and reports each next to the full model, each with every seed of `--ablation-seeds` (their
spread in --work/ablations.json). `--ensemble` adds the per-target n-gram model to
the shipped bundle, its weight chosen on a dev split of the training data (models/training/ensemble.py), and
`--member-epochs` more classifiers from the same LM, and with `--backward-member` a backward LM's classifier,
averaged with the first in one graph (models/training/onnx_mean.py);
the AWD-LSTM alone is then kept in --work/bundle-lstm and reported beside it. `--quantize` adds the int8 graph
that CPU nodes serve (models/training/quantize.py); the float graph's figures are kept beside its own. `--from-lm` with
`--from-tokenizer` starts from a trained stage-2 LM instead of running the LM stages (`make train-cpu`).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from models.evaluation.bundle_report import evaluate_bundle, summary
from models.evaluation.data import DATASET_TARGETS, LABELS, read_csv
from models.evaluation.live_comparison import compare, markdown
from models.runtime.bundle import TARGET_POSITIONS, Bundle, load_bundle, write_meta
from models.runtime.text import Tokenizer, target_prefix
from models.training.ablation_results import Variant as AblationVariant
from models.training.ablation_results import runs_entry, variant_label
from models.training.ablation_results import save as save_ablations
from models.training.awdlstm import AWDConfig, LanguageModel
from models.training.build import train_and_export
from models.training.corpus import DataDir, LeakFilter
from models.training.ensemble import build_ensemble
from models.training.quantize import add_int8_model
from models.training.tokenizer import train_sentencepiece
from models.training.train_clf import TrainConfig
from models.training.train_lm import LMTrainConfig, token_stream, train_lm

log = logging.getLogger(__name__)
T = TypeVar("T")

SIZES = {  # emb, hidden, layers
    "tiny": (32, 64, 3),
    "small": (128, 256, 3),
    "medium": (200, 400, 3),
    "full": (400, 1152, 3),
}
QUANT_CHECK_ROWS = 2000  # training tweets the int8 graph is compared with the float one on


@dataclass(frozen=True)
class UlmfitConfig:
    size: str = "small"
    vocab_size: int = 12_000
    max_len: int = 96  # tokens per classified tweet (target prefix included): covers 97% of P-Stance tweets
    drop_mult: float = 0.5  # the language models' dropouts (× the AWD-LSTM defaults)
    clf_drop_mult: float = 1.0  # the classifier's: it overfits 21k tweets at 0.5 (models/README.md)
    valid_frac: float = 0.02
    limit_docs: int = 0  # >0: use only this many texts per source (smoke tests)
    lm1: LMTrainConfig = field(default_factory=lambda: LMTrainConfig(epochs=8, lr=5e-3))
    lm2: LMTrainConfig = field(default_factory=lambda: LMTrainConfig(epochs=4, lr=2e-3, discriminative=True))
    clf: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=25, lr=1e-2, gradual_unfreezing=True))
    # With --ensemble: more classifiers from the same LM, one per entry (its epochs), averaged with the first.
    member_epochs: tuple[int, ...] = ()
    # With --ensemble: a backward LM and its classifier as one more member (ULMFiT's forward+backward ensemble).
    # The backward LM starts from the forward stage-2 LM (the embeddings carry over; the LSTMs relearn) and trains
    # on the reversed stance tweets plus the unlabelled political tweets: no second pass over stage 1's corpus.
    backward_member: bool = False
    lm_bwd: LMTrainConfig = field(default_factory=lambda: LMTrainConfig(epochs=3, lr=5e-3, batch_size=64))
    # With --ablations: the classifier seeds each variant is trained with. One seed's F_avg moves by about a
    # point (models/results/ablations.json), more than some steps add, so one seed cannot credit a step.
    ablation_seeds: tuple[int, ...] = (0,)
    # Where the classifiers' input puts the target marker (models.runtime.bundle.TARGET_POSITIONS): "both" lets a
    # forward and a backward member each read it last.
    target_position: str = "start"
    # Start from a trained stage-2 LM and its tokenizer (models/pretrained/) instead of running the LM stages:
    # what makes the shipped recipe reproducible on a CPU, where stage 1 alone takes ~14 hours.
    from_lm: str = ""
    from_tokenizer: str = ""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> UlmfitConfig:
        """The config the command line asks for: these defaults, with what its options set."""
        base = cls()

        def given(value: Any, default: Any) -> Any:
            return default if value is None else value

        batch = {"batch_size": args.batch_size} if args.batch_size else {}
        return cls(
            size=args.size, limit_docs=args.limit_docs, vocab_size=args.vocab or base.vocab_size,
            max_len=given(args.max_len, base.max_len), clf_drop_mult=given(args.clf_drop_mult, base.clf_drop_mult),
            lm1=replace(base.lm1, epochs=given(args.lm1_epochs, base.lm1.epochs), **batch),
            lm2=replace(base.lm2, epochs=given(args.lm2_epochs, base.lm2.epochs), **batch),
            clf=replace(base.clf, epochs=given(args.clf_epochs, base.clf.epochs), lr=given(args.clf_lr, base.clf.lr)),
            member_epochs=tuple(int(e) for e in args.member_epochs.split(",")) if args.member_epochs else (),
            backward_member=args.backward_member, target_position=args.target_position,
            from_lm=args.from_lm, from_tokenizer=args.from_tokenizer,
            ablation_seeds=tuple(int(s) for s in args.ablation_seeds.split(",")),
        )

    def awd(self, vocab: int, drop_mult: float | None = None) -> AWDConfig:
        emb, hidden, layers = SIZES[self.size]
        return AWDConfig(vocab_size=vocab, emb_size=emb, hidden_size=hidden, n_layers=layers,
                         n_classes=len(LABELS)).scaled_dropout(self.drop_mult if drop_mult is None else drop_mult)


def _split(texts: list[str], frac: float, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    idx = list(range(len(texts)))
    rng.shuffle(idx)
    n_valid = max(1, int(len(texts) * frac))
    return [texts[i] for i in idx[n_valid:]], [texts[i] for i in idx[:n_valid]]


class Pipeline:
    def __init__(self, data: DataDir, work: Path, cfg: UlmfitConfig, device: torch.device, progress: bool,
                 compare_with: Path | None = None) -> None:
        self.data, self.work, self.cfg, self.device, self.progress = data, work, cfg, device, progress
        self.compare_with = compare_with
        work.mkdir(parents=True, exist_ok=True)
        self.leaks = LeakFilter(data.eval_texts())
        self.timings: dict[str, float] = {}
        self.provenance: dict[str, Any] = {}

    def _limit(self, items: list[T]) -> list[T]:
        return items[: self.cfg.limit_docs] if self.cfg.limit_docs else items

    def corpora(self) -> tuple[list[str], list[str]]:
        """(general + tweet texts, stance training texts), leak-filtered; sizes go into the provenance."""
        general = self.data.general()
        lm_texts = self._limit(list(self.leaks.texts(general.texts)))
        sources = {general.name: len(lm_texts)}
        for src in self.data.tweets():
            kept = self._limit(list(self.leaks.texts(src.texts)))
            sources[src.name] = len(kept)
            lm_texts += kept
        stance = self.leaks.examples(self.data.stance_train(with_none=True))
        live = self._limit(list(self.leaks.texts(self.data.live_texts())))  # the stream's own language
        if live:
            sources["live_texts"] = len(live)
        self.provenance["lm_corpus_texts"] = sources
        self.provenance["leak_filter_dropped"] = self.leaks.dropped
        return lm_texts, [e.text for e in self._limit(stance)] + live

    def tokenizer(self, lm_texts: list[str]) -> Path:
        path = self.work / "tokenizer.model"
        if not path.is_file():
            t0 = time.perf_counter()
            train_sentencepiece(lm_texts + [target_prefix(t) for t in DATASET_TARGETS] * 20, self.work / "tokenizer",
                                self.cfg.vocab_size)
            self.timings["tokenizer_s"] = round(time.perf_counter() - t0, 1)
        return path

    def lm_stage(self, name: str, texts: list[str], tok: Tokenizer, train_cfg: LMTrainConfig,
                 init: dict[str, Any] | None, backward: bool = False) -> dict[str, Any]:
        done = self.work / f"{name}.pt"
        if done.is_file():
            return torch.load(done, map_location="cpu", weights_only=False)
        train_texts, valid_texts = _split(texts, self.cfg.valid_frac)
        train_ids, valid_ids = token_stream(tok, train_texts, backward), token_stream(tok, valid_texts, backward)
        log.info("%s: %d training tokens, %d validation tokens", name, len(train_ids), len(valid_ids))
        model = LanguageModel(self.cfg.awd(tok.vocab_size))
        if init is not None:
            model.load_state_dict(init["model"])
        t0 = time.perf_counter()
        history = train_lm(model, train_ids, valid_ids, train_cfg, self.work / f"{name}.ckpt", self.device,
                           progress=self.progress)
        result = {"model": {k: v.cpu() for k, v in model.state_dict().items()}, "history": history,
                  "tokens": len(train_ids), "seconds": round(time.perf_counter() - t0, 1)}
        torch.save(result, done)
        return result

    def pretrained_lm(self) -> tuple[Tokenizer, dict[str, Any]]:
        """The tokenizer and stage-2 LM given by --from-lm/--from-tokenizer, checked against each other."""
        tok_path = self.work / "tokenizer.model"
        if not tok_path.is_file():
            shutil.copyfile(self.cfg.from_tokenizer, tok_path)
        tok = Tokenizer(tok_path, self.cfg.max_len)
        lm = torch.load(self.cfg.from_lm, map_location="cpu", weights_only=False)
        lm = {**lm, "model": {k: v.float() for k, v in lm["model"].items()}}
        rows = lm["model"]["encoder.encoder.weight"].shape[0]
        if rows != tok.vocab_size:
            raise ValueError(f"--from-lm {self.cfg.from_lm} has {rows} embedding rows but --from-tokenizer "
                             f"{self.cfg.from_tokenizer} {tok.vocab_size} pieces: they were not trained together")
        self.provenance["lm"] = {"from": str(self.cfg.from_lm), "tokenizer": str(self.cfg.from_tokenizer),
                                 "stance_tweets": {k: lm[k] for k in ("tokens", "seconds", "history") if k in lm}}
        return tok, lm

    def classifier(self, train: list[Any], val: list[Any], awd: AWDConfig, clf_cfg: TrainConfig, name: str,
                   out_dir: Path, version: str, provenance: dict[str, Any],
                   encoder_state: dict[str, Any] | None) -> None:
        """One classifier, trained into --work/clf-<name> and exported to out_dir, as every variant and member is."""
        train_and_export(train, val, LABELS, self.work / "tokenizer.model", self.cfg.max_len, awd, clf_cfg,
                         self.work / f"clf-{name}", out_dir, version, provenance, encoder_state=encoder_state,
                         progress=self.progress, device=self.device, target_position=self.cfg.target_position)

    def run(self, out: Path, version: str, ablations: bool, stop_after: str = "", ensemble: bool = False,
            quantize: bool = False) -> dict[str, Any]:
        """Tokenizer and LMs, the classifier (and its ablation variants), the ensemble, the int8 graph, the report.
        Every step is skipped when its result is already in the work folder."""
        lm_texts, stance_texts = self.corpora()
        tok, lm1, lm2 = self.language_models(lm_texts, stance_texts)
        if stop_after == "lm":
            return {}
        train = self._limit(self.leaks.examples(self.data.stance_train(with_none=True)))
        evals = self.data.eval_sets()
        awd = self.cfg.awd(tok.vocab_size, self.cfg.clf_drop_mult)
        lstm_out = self.work / "bundle-lstm" if ensemble else out
        report = self.classifiers(train, evals, awd, lm1, lm2, lstm_out, version, ablations)
        if ensemble:
            members, encoders = self.ensemble_members(train, evals, awd, tok, stance_texts, lm2, lstm_out, version)
            if not (out / "meta.json").is_file() or not load_bundle(out).meta.ensemble:
                build_ensemble(members, train, encoders, self.work / "ensemble", out, version,
                               progress=self.progress, device=self.device)
            report = {"ensemble": evaluate_bundle(out, evals), **report}
        final = "ensemble" if ensemble else "ulmfit"
        if quantize:
            report.update(self.quantised(out, train, evals, final))
        self.record(out, report, final, self.live_comparison(out))
        return report

    def language_models(self, lm_texts: list[str], stance_texts: list[str]
                        ) -> tuple[Tokenizer, dict[str, Any] | None, dict[str, Any]]:
        """The tokenizer and the stage-1 and stage-2 LMs (stage 1 is None when starting from a trained LM)."""
        if self.cfg.from_lm:
            tok, lm2 = self.pretrained_lm()
            return tok, None, lm2
        tok = Tokenizer(self.tokenizer(lm_texts), self.cfg.max_len)
        lm1 = self.lm_stage("lm1", lm_texts, tok, self.cfg.lm1, None)
        lm2 = self.lm_stage("lm2", stance_texts, tok, self.cfg.lm2, lm1)
        self.provenance["lm"] = {s: {"tokens": r["tokens"], "seconds": r["seconds"], "history": r["history"]}
                                 for s, r in (("general_and_tweets", lm1), ("stance_tweets", lm2))}
        return tok, lm1, lm2

    def classifiers(self, train: list[Any], evals: dict[str, list[Any]], awd: AWDConfig, lm1: dict[str, Any] | None,
                    lm2: dict[str, Any], lstm_out: Path, version: str, ablations: bool) -> dict[str, Any]:
        """The full recipe's classifier (written to lstm_out) and, with `ablations`, each variant without one step
        over the ablation seeds (their spread in work/ablations.json); returns each variant's seed-0 evaluation."""
        val = evals["pstance_val_3class"]
        variants: dict[str, tuple[dict[str, Any] | None, TrainConfig]] = {"ulmfit": (_encoder(lm2), self.cfg.clf)}
        if ablations:
            variants["no_lm_pretraining"] = (None, replace(self.cfg.clf, gradual_unfreezing=False))
            if lm1 is not None:  # with --from-lm there is no stage-1 LM to start from
                variants["no_tweet_lm_finetuning"] = (_encoder(lm1), self.cfg.clf)
            else:
                log.warning("--from-lm: the ablation without the stance-tweet LM stage needs stage 1; skipped")
            variants["no_gradual_unfreezing"] = (_encoder(lm2), replace(self.cfg.clf, gradual_unfreezing=False))
        report: dict[str, Any] = {}
        seed_runs: dict[str, dict[str, dict[str, float]]] = {}
        for name, (state, clf_cfg) in variants.items():
            for seed in sorted({0, *self.cfg.ablation_seeds}) if ablations else (0,):
                # seed 0 keeps the single-run names: the shipped member is the full recipe's seed 0
                suffix = f"-s{seed}" if seed else ""
                bundle_dir = lstm_out if name == "ulmfit" and not seed else self.work / f"bundle-{name}{suffix}"
                if not (bundle_dir / "meta.json").is_file():
                    provenance = {**self.provenance, "variant": name, "timings": dict(self.timings),
                                  "config": asdict(self.cfg)}
                    self.classifier(train, val, awd, replace(clf_cfg, seed=seed), f"{name}{suffix}", bundle_dir,
                                    version if name == "ulmfit" and not seed else f"{name}{suffix}", provenance,
                                    state)
                result = evaluate_bundle(bundle_dir, evals)
                seed_runs.setdefault(name, {})[str(seed)] = runs_entry(result)
                if not seed:
                    report[name] = result
        if ablations:
            save_ablations(self.work / "ablations.json",
                           [AblationVariant(n, variant_label(n), r) for n, r in seed_runs.items()],
                           f"models.training.ulmfit --ablations --ablation-seeds {','.join(seed_runs['ulmfit'])}")
        return report

    def ensemble_members(self, train: list[Any], evals: dict[str, list[Any]], awd: AWDConfig, tok: Tokenizer,
                         stance_texts: list[str], lm2: dict[str, Any], lstm_out: Path, version: str
                         ) -> tuple[list[Bundle], list[dict[str, Any] | None]]:
        """The members to average (the classifier, one more per --member-epochs, the backward one) and the LM
        encoder each starts from (its dev twin's start)."""
        val = evals["pstance_val_3class"]
        members = [load_bundle(lstm_out)]
        for epochs in self.cfg.member_epochs:
            member_dir = self.work / f"bundle-member-{epochs}ep"
            if not (member_dir / "meta.json").is_file():
                self.classifier(train, val, awd, replace(self.cfg.clf, epochs=epochs), f"member-{epochs}ep",
                                member_dir, f"{version}-member-{epochs}ep",
                                {**self.provenance, "variant": f"member, {epochs} epochs"}, _encoder(lm2))
            members.append(load_bundle(member_dir))
        encoders: list[dict[str, Any] | None] = [_encoder(lm2)] * len(members)
        if self.cfg.backward_member:
            political = self._limit(list(self.leaks.texts(self.data.political())))
            lm2b = self.lm_stage("lm-bwd", stance_texts + political, tok, self.cfg.lm_bwd, lm2, backward=True)
            self.provenance["lm_backward"] = {
                "from": "the forward stage-2 LM", "texts": len(stance_texts) + len(political),
                "tokens": lm2b["tokens"], "seconds": lm2b["seconds"], "history": lm2b["history"]}
            member_dir = self.work / "bundle-member-bwd"
            if not (member_dir / "meta.json").is_file():
                self.classifier(train, val, replace(awd, backward=True), self.cfg.clf, "member-bwd", member_dir,
                                f"{version}-member-bwd", {**self.provenance, "variant": "backward"},
                                _encoder(lm2b))
            members.append(load_bundle(member_dir))
            encoders.append(_encoder(lm2b))
        return members, encoders

    def quantised(self, out: Path, train: list[Any], evals: dict[str, list[Any]], final: str) -> dict[str, Any]:
        """Adds the int8 graph (checked on training text) and evaluates both graphs."""
        if not load_bundle(out).meta.quantized:
            sample = train[:: max(1, len(train) // QUANT_CHECK_ROWS)]  # training text: no evaluation set
            add_int8_model(load_bundle(out), [e.text for e in sample], [e.target for e in sample])
        return {f"{final}_fp32": evaluate_bundle(out, evals, precision="fp32"),
                final: evaluate_bundle(out, evals)}  # the int8 graph, as CPU nodes serve it

    def record(self, out: Path, report: dict[str, Any], final: str, live: dict[str, Any] | None) -> None:
        """The evaluation into the bundle's meta (with the comparison on held-out live labels when there is one),
        and the whole report into the work folder."""
        meta = load_bundle(out).meta
        lm_backward = {"lm_backward": self.provenance["lm_backward"]} if "lm_backward" in self.provenance else {}
        extra_train = {"extra_train": {str(p): len(read_csv(p)) for p in self.data.extra_train}
                       } if self.data.extra_train else {}
        write_meta(out, replace(meta, metrics={**meta.metrics, "eval": report[final],
                                               "ablations": {k: summary(v) for k, v in report.items()},
                                               **({"live_holdout": live} if live else {})},
                                provenance={**meta.provenance, **lm_backward, **extra_train}))
        (self.work / "report.json").write_text(json.dumps(report, indent=2))

    def live_comparison(self, out: Path) -> dict[str, Any] | None:
        """The new bundle against --compare-with on the held-out live labels, printed and kept as Markdown."""
        held = self.data.live_eval()
        if not held or not self.compare_with:
            return None
        result = compare(held, out, self.compare_with)
        table = markdown(result)
        (self.work / "live_comparison.md").write_text(table)
        print(table)
        return result


def _encoder(lm: dict[str, Any]) -> dict[str, Any]:
    """The encoder's weights out of a language-model checkpoint (what a classifier starts from)."""
    return {k.removeprefix("encoder."): v for k, v in lm["model"].items() if k.startswith("encoder.")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.training.ulmfit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--size", choices=list(SIZES), default="small")
    p.add_argument("--version", default="")
    p.add_argument("--ablations", action="store_true")
    p.add_argument("--ablation-seeds", default="0",
                   help="with --ablations: classifier seeds per variant, comma-separated (make train: 0,1,2); "
                        "their spread goes into --work/ablations.json (python -m models.research.ablations)")
    p.add_argument("--target-position", choices=TARGET_POSITIONS, default="start",
                   help="the target marker before the tweet, or before and after it (every member)")
    p.add_argument("--from-lm", default="", help="a trained stage-2 LM (models/pretrained/lm-*.pt): skip the LM "
                   "stages and train the classifiers from it (needs --from-tokenizer)")
    p.add_argument("--from-tokenizer", default="", help="the SentencePiece model the --from-lm LM was trained with")
    p.add_argument("--limit-docs", type=int, default=0)
    p.add_argument("--lm1-epochs", type=int)
    p.add_argument("--lm2-epochs", type=int)
    p.add_argument("--clf-epochs", type=int)
    p.add_argument("--batch-size", type=int, help="LM batch size")
    p.add_argument("--vocab", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--clf-lr", type=float, help="classifier peak learning rate")
    p.add_argument("--clf-drop-mult", type=float, help="classifier dropout multiplier")
    p.add_argument("--max-len", type=int, help="classifier tokens per tweet")
    p.add_argument("--ensemble", action="store_true",
                   help="add the per-target n-gram model (models/training/ensemble.py)")
    p.add_argument("--member-epochs", default="",
                   help="with --ensemble: more classifiers to average, their epochs comma-separated (e.g. 15)")
    p.add_argument("--backward-member", action="store_true",
                   help="with --ensemble: a backward LM and its classifier as one more member")
    p.add_argument("--quantize", action="store_true",
                   help="add the int8 graph that CPUs serve (models/training/quantize.py)")
    p.add_argument("--stop-after", choices=["lm"], default="", help="only the tokenizer and the LM stages")
    p.add_argument("--extra-train", action="append", default=[], metavar="CSV",
                   help="more labelled posts for the classifiers (Tweet,Target,Stance; repeatable): the reviewers' "
                        "labels of `pulse labels export`")
    p.add_argument("--extra-lm-text", action="append", default=[], metavar="FILE",
                   help="more text for the target-domain LM fine-tuning (stage 2), one post a line (repeatable): "
                        "the stream's own, `pulse labels texts`; unused with --from-lm, which skips that stage")
    p.add_argument("--live-holdout", action="append", default=[], metavar="CSV",
                   help="held-out live labels (`pulse labels export --holdout-out`): kept out of every training text "
                        "and, with --compare-with, the new bundle measured against that one on them")
    p.add_argument("--compare-with", metavar="BUNDLE",
                   help="the bundle a retrained one would replace (e.g. models/release/NAME), compared on "
                        "--live-holdout with a paired bootstrap: the bundle's meta (metrics.live_holdout) and "
                        "--work/live_comparison.md")
    args = p.parse_args(argv)
    if args.compare_with and not args.live_holdout:
        p.error("--compare-with needs --live-holdout")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if bool(args.from_lm) != bool(args.from_tokenizer):
        p.error("--from-lm and --from-tokenizer go together")
    cfg = UlmfitConfig.from_args(args)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    log.info("ULMFiT %s on %s", args.size, device)
    np.random.seed(0)
    pipeline = Pipeline(DataDir(args.data_dir, args.extra_train, args.extra_lm_text, args.live_holdout),
                        Path(args.work), cfg, device, progress=not args.no_progress,
                        compare_with=Path(args.compare_with) if args.compare_with else None)
    report = pipeline.run(Path(args.out), args.version or f"ulmfit-{args.size}", args.ablations, args.stop_after,
                          args.ensemble, args.quantize)
    print(json.dumps({k: summary(v) for k, v in report.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
