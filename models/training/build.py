"""Labelled tweets → a trained, exported, checked model bundle (tokenizer, classifier, ONNX, meta.json).

`build_bundle` trains from scratch on CSVs (the fixture bundle and quick baselines); `train_and_export` is the
shared back half that models/training/ulmfit.py also uses with a pretrained encoder. Each stage resumes from its output
in `work_dir`: the tokenizer is reused and the classifier resumes from its last epoch checkpoint.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.evaluation.data import LABELS, Example, read_csvs
from models.evaluation.evaluate import stance_metrics
from models.runtime.bundle import BundleMeta, write_meta
from models.runtime.text import Tokenizer, target_prefix
from models.training.awdlstm import AWDConfig, StanceClassifier
from models.training.export import export_onnx, parity
from models.training.tokenizer import train_sentencepiece
from models.training.train_clf import TrainConfig, class_weights, predict_proba, train_classifier

log = logging.getLogger(__name__)

PARITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class BuildConfig:
    train_csvs: list[str]
    val_csvs: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    vocab_size: int = 8000
    max_len: int = 64
    emb_size: int = 400
    hidden_size: int = 1152
    n_layers: int = 3
    drop_mult: float = 1.0  # scales every dropout (fastai's drop_mult); small data from scratch wants less
    train: TrainConfig = field(default_factory=TrainConfig)
    version: str = ""  # default: a date stamp


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def build_bundle(cfg: BuildConfig, work_dir: Path, out_dir: Path, progress: bool = True) -> BundleMeta:
    work_dir.mkdir(parents=True, exist_ok=True)
    train = read_csvs(cfg.train_csvs, cfg.labels)
    val = read_csvs(cfg.val_csvs, cfg.labels) if cfg.val_csvs else []
    log.info("training on %d labelled tweets, validating on %d", len(train), len(val))
    t0 = time.perf_counter()
    sp_model = work_dir / "tokenizer.model"
    if not sp_model.is_file():
        targets = sorted({ex.target for ex in train})
        corpus = [ex.text for ex in train] + [target_prefix(t) for t in targets]
        train_sentencepiece(corpus, work_dir / "tokenizer", cfg.vocab_size)
    awd = AWDConfig(vocab_size=Tokenizer(sp_model, cfg.max_len).vocab_size, emb_size=cfg.emb_size,
                    hidden_size=cfg.hidden_size, n_layers=cfg.n_layers, n_classes=len(cfg.labels)
                    ).scaled_dropout(cfg.drop_mult)
    provenance = {
        "train_files": {Path(p).name: file_digest(p) for p in cfg.train_csvs},
        "val_files": {Path(p).name: file_digest(p) for p in cfg.val_csvs},
        "timings": {"tokenizer_s": round(time.perf_counter() - t0, 2)},
    }
    return train_and_export(train, val, cfg.labels, sp_model, cfg.max_len, awd, cfg.train, work_dir, out_dir,
                            cfg.version, provenance, progress=progress)


def train_and_export(train: Sequence[Example], val: Sequence[Example], labels: Sequence[str], sp_model: Path,
                     max_len: int, awd: AWDConfig, train_cfg: TrainConfig, work_dir: Path, out_dir: Path,
                     version: str, provenance: dict[str, Any], encoder_state: dict[str, Any] | None = None,
                     progress: bool = True, device: torch.device | None = None,
                     target_position: str = "start") -> BundleMeta:
    """Train the classifier (on a pretrained encoder when given), export it, check parity, write meta."""
    work_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(sp_model, max_len, target_position)
    label_index = {lab: i for i, lab in enumerate(labels)}
    train_rows = [tok.encode(ex.text, ex.target) for ex in train]
    val_rows = [tok.encode(ex.text, ex.target) for ex in val]
    train_y = [label_index[ex.label] for ex in train]
    if not train_cfg.class_weights:
        train_cfg = replace(train_cfg, class_weights=class_weights(train, labels))
    torch.manual_seed(train_cfg.seed)  # the head's initial weights follow the seed too: a rerun repeats the run
    model = StanceClassifier(awd)
    if encoder_state is not None:
        model.encoder.load_state_dict(encoder_state)

    def evaluate(_: int) -> dict[str, float]:
        if not val:
            return {}
        m = _metrics(model, val_rows, val, labels)
        return {"val_f_avg": m["f_avg"], "val_macro_f1": m["macro_f1"]}

    t0 = time.perf_counter()
    history = train_classifier(model, train_rows, train_y, train_cfg, work_dir / "classifier.ckpt",
                               on_epoch=evaluate, progress=progress, device=device)
    timings = {**provenance.get("timings", {}), "classifier_s": round(time.perf_counter() - t0, 2)}
    model.cpu().eval()

    out_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out_dir / "model.onnx")
    shutil.copyfile(sp_model, out_dir / "tokenizer.model")
    max_diff = parity(model, out_dir / "model.onnx", (val_rows or train_rows)[:256])
    if max_diff > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX export differs from PyTorch by {max_diff:.2e} (> {PARITY_TOLERANCE})")
    metrics: dict[str, Any] = {"onnx_parity_max_abs_diff": max_diff, "history": history}
    if val:
        metrics["val"] = _metrics(model, val_rows, val, labels)
    meta = BundleMeta(
        version=version or datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        labels=list(labels),
        targets=sorted({ex.target for ex in train}),
        max_len=max_len,
        target_position=target_position,
        metrics=metrics,
        provenance={**provenance, "n_train": len(train), "n_val": len(val), "train_config": asdict(train_cfg),
                    "timings": timings, "built_at": datetime.now(UTC).isoformat(timespec="seconds")},
        architecture={"type": "awd-lstm-classifier", **awd.to_dict()},
    )
    write_meta(out_dir, meta)
    log.info("bundle %s written to %s (parity %.1e)", meta.version, out_dir, max_diff)
    return meta


@torch.no_grad()
def _metrics(model: StanceClassifier, rows: list[list[int]], examples: Sequence[Example],
             labels: Sequence[str]) -> dict[str, Any]:
    probs = predict_proba(model, rows)
    pred = [labels[i] for i in np.argmax(probs, axis=1)]
    return stance_metrics([ex.label for ex in examples], pred, labels, [ex.target for ex in examples])
