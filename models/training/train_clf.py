"""Stance classifier training: STLR, discriminative rates, gradual unfreezing, class weights, resumable.

A checkpoint is written after every epoch (model, optimiser, epoch, step, configs, history, RNG), so an
interrupted run resumes at the next epoch with the same result as an uninterrupted one.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from models.evaluation.data import Example
from models.runtime.text import pad
from models.training import checkpoint
from models.training.awdlstm import StanceClassifier
from models.training.schedule import discriminative_lrs, stlr, unfrozen_groups

log = logging.getLogger(__name__)


def class_weights(examples: Sequence[Example], labels: Sequence[str]) -> list[float]:
    """Inverse-frequency weights normalised to mean 1 (a class never seen gets weight 0)."""
    counts = Counter(ex.label for ex in examples)
    raw = [len(examples) / counts[lab] if counts[lab] else 0.0 for lab in labels]
    seen = [w for w in raw if w > 0]
    mean = sum(seen) / len(seen)
    return [w / mean for w in raw]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 6
    batch_size: int = 64
    lr: float = 4e-3  # top layer group's peak rate; lower groups get lr/2.6^k
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    gradual_unfreezing: bool = False  # only meaningful on top of a pretrained encoder
    class_weights: list[float] = field(default_factory=list)  # empty: unweighted loss
    seed: int = 0


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within chunks of 50 batches) to waste little padding."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(idx), chunk):
        part = sorted(idx[start : start + chunk], key=lambda i: lengths[i])
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    # Only the last batch can be short (every chunk but the last is whole batches); batch norm cannot train on
    # one row, so a lone last row joins the batch before it.
    if len(batches) > 1 and len(batches[-1]) == 1:
        lone = batches.pop()
        batches[-1] = batches[-1] + lone
    rng.shuffle(batches)
    return batches


def _to_tensors(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    enc = pad(rows)
    return torch.from_numpy(enc.ids), torch.from_numpy(enc.lengths)


@torch.no_grad()
def predict_proba(model: StanceClassifier, rows: Sequence[Sequence[int]], batch_size: int = 256) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(rows), batch_size):
        ids, lengths = _to_tensors(rows[start : start + batch_size])
        out.append(F.softmax(model(ids.to(device), lengths.to(device)), dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.cfg.n_classes), dtype=np.float32)


def _set_trainable(model: StanceClassifier, n_top: int) -> None:
    groups = model.layer_groups()
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= len(groups) - n_top)


def train_classifier(
    model: StanceClassifier,
    rows: Sequence[Sequence[int]],
    labels: Sequence[int],
    cfg: TrainConfig,
    ckpt_path: Path,
    on_epoch: Any = None,
    progress: bool = True,
    device: torch.device | None = None,
) -> list[dict[str, float]]:
    """Trains in place; returns the per-epoch history. `on_epoch(epoch)` may return metrics to record."""
    torch.manual_seed(cfg.seed)
    device = device or torch.device("cpu")
    model.to(device)
    groups = model.layer_groups()
    n_groups = len(groups)
    optim = torch.optim.AdamW(
        [{"params": g, "lr": 0.0} for g in groups], betas=(0.7, 0.99), weight_decay=cfg.weight_decay
    )
    steps_per_epoch = -(-len(rows) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    weight = torch.tensor(cfg.class_weights, dtype=torch.float32, device=device) if cfg.class_weights else None
    state = checkpoint.resume(ckpt_path, model, optim, cfg, device, "classifier")

    for epoch in range(state.epoch, cfg.epochs):
        n_top = unfrozen_groups(epoch, n_groups) if cfg.gradual_unfreezing else n_groups
        _set_trainable(model, n_top)
        model.train()
        rng = random.Random(cfg.seed * 1000 + epoch)  # the batch order depends only on seed and epoch
        torch.manual_seed(cfg.seed * 1000 + epoch)
        batches = _batches([len(r) for r in rows], cfg.batch_size, rng)
        loss_sum, seen = 0.0, 0
        bar = tqdm(batches, desc=f"classifier epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for batch in bar:
            top = stlr(state.step, total, cfg.lr)
            for pg, lr in zip(optim.param_groups, discriminative_lrs(top, n_groups), strict=True):
                pg["lr"] = lr
            ids, lengths = _to_tensors([rows[i] for i in batch])
            ids, lengths = ids.to(device), lengths.to(device)
            y = torch.tensor([labels[i] for i in batch], device=device)
            loss = F.cross_entropy(model(ids, lengths), y, weight=weight)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optim.step()
            state.step += 1
            loss_sum += loss.item() * len(batch)
            seen += len(batch)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", lr=f"{top:.2e}")
        record: dict[str, float] = {"epoch": epoch + 1, "train_loss": round(loss_sum / max(1, seen), 5)}
        if on_epoch is not None:
            record.update(on_epoch(epoch) or {})
        state.history.append(record)
        state.epoch = epoch + 1
        log.info("classifier epoch %d: %s", epoch + 1, record)
        checkpoint.save(ckpt_path, model, optim, cfg, state)
    _set_trainable(model, n_groups)
    return state.history
