"""AWD-LSTM language-model training: variable-length BPTT, AR/TAR, STLR, discriminative rates; resumable.

Stage 1 (general + tweet text) and stage 2 (fine-tuning on the stance tweets) both run `train_lm`; stage 2
starts from stage 1's weights and uses discriminative rates (lr/2.6 per layer group down).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from models.runtime.text import BOS_ID, EOS_ID, Tokenizer, normalise
from models.training import checkpoint
from models.training.awdlstm import Hidden, LanguageModel
from models.training.schedule import discriminative_lrs, stlr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LMTrainConfig:
    epochs: int = 10
    batch_size: int = 64
    bptt: int = 70
    lr: float = 5e-3
    discriminative: bool = False  # stage 2: lr/2.6 per layer group down
    weight_decay: float = 0.01
    clip: float = 0.25
    alpha: float = 2.0  # activation regularisation (AR) on the dropped last-layer output
    beta: float = 1.0  # temporal activation regularisation (TAR) on the raw last-layer output
    seed: int = 0


def token_stream(tok: Tokenizer, texts: Sequence[str], backward: bool = False) -> np.ndarray:
    """Every text as BOS ids EOS, concatenated (the tokenizer's normalisation, without the target prefix);
    `backward`: the whole stream reversed, for a backward LM (each text then reads EOS ... BOS)."""
    pieces = tok.sp.encode([normalise(t) for t in texts])
    total = sum(len(p) + 2 for p in pieces)
    out = np.empty(total, dtype=np.int64)
    i = 0
    for p in pieces:
        out[i] = BOS_ID
        out[i + 1 : i + 1 + len(p)] = p
        out[i + 1 + len(p)] = EOS_ID
        i += len(p) + 2
    return out[::-1].copy() if backward else out


def batchify(stream: np.ndarray, batch_size: int) -> torch.Tensor:
    n = len(stream) // batch_size
    return torch.from_numpy(stream[: n * batch_size].reshape(batch_size, n))


def _detach(hidden: Hidden) -> Hidden:
    return [(h.detach(), c.detach()) for h, c in hidden]


def evaluate_lm(model: LanguageModel, data: torch.Tensor, bptt: int, device: torch.device) -> float:
    """Perplexity over a batchified stream, states carried across windows."""
    model.eval()
    total, count, hidden = 0.0, 0, None
    with torch.no_grad():
        for i in range(0, data.size(1) - 1, bptt):
            x = data[:, i : i + bptt].to(device)
            y = data[:, i + 1 : i + 1 + bptt].to(device)
            x = x[:, : y.size(1)]
            logits, _, _, hidden = model(x, hidden)
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return math.exp(total / max(1, count))


def train_lm(model: LanguageModel, train: np.ndarray, valid: np.ndarray, cfg: LMTrainConfig, ckpt_path: Path,
             device: torch.device, progress: bool = True) -> list[dict[str, float]]:
    torch.manual_seed(cfg.seed)
    model.to(device)
    groups = model.layer_groups()
    optim = torch.optim.AdamW([{"params": g, "lr": 0.0} for g in groups], betas=(0.7, 0.99),
                              weight_decay=cfg.weight_decay)
    train_data, valid_data = batchify(train, cfg.batch_size), batchify(valid, min(cfg.batch_size, 16))
    steps_per_epoch = max(1, train_data.size(1) // cfg.bptt)
    total = steps_per_epoch * cfg.epochs
    done = checkpoint.resume(ckpt_path, model, optim, cfg, device, "LM")
    step, history = done.step, done.history
    for epoch in range(done.epoch, cfg.epochs):
        model.train()
        rng = random.Random(cfg.seed * 1000 + epoch)
        torch.manual_seed(cfg.seed * 1000 + epoch)
        hidden: Hidden | None = None
        i, loss_sum, n_batches, t0 = 0, 0.0, 0, time.perf_counter()
        bar = tqdm(total=train_data.size(1), desc=f"LM epoch {epoch + 1}/{cfg.epochs}", unit="tok/row",
                   disable=not progress, leave=False)
        while i < train_data.size(1) - 2:
            # Variable-length BPTT (Merity et al.): mostly bptt, sometimes half, jittered; lr scaled to match.
            base = cfg.bptt if rng.random() < 0.95 else cfg.bptt / 2
            seq_len = max(5, int(rng.gauss(base, 5)))
            x = train_data[:, i : i + seq_len].to(device, non_blocking=True)
            y = train_data[:, i + 1 : i + 1 + seq_len].to(device, non_blocking=True)
            x = x[:, : y.size(1)]
            top = stlr(min(step, total - 1), total, cfg.lr) * seq_len / cfg.bptt
            lrs = discriminative_lrs(top, len(groups)) if cfg.discriminative else [top] * len(groups)
            for pg, lr in zip(optim.param_groups, lrs, strict=True):
                pg["lr"] = lr
            hidden = _detach(hidden) if hidden is not None else None
            logits, raw_last, dropped_last, hidden = model(x, hidden)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            reg = cfg.alpha * dropped_last.pow(2).mean()
            if raw_last.size(1) > 1:
                reg = reg + cfg.beta * (raw_last[:, 1:] - raw_last[:, :-1]).pow(2).mean()
            optim.zero_grad(set_to_none=True)
            (loss + reg).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optim.step()
            step += 1
            i += x.size(1)
            loss_sum += loss.item()
            n_batches += 1
            bar.update(x.size(1))
            if n_batches % 50 == 0:
                bar.set_postfix(ppl=f"{math.exp(loss_sum / n_batches):.1f}", lr=f"{top:.1e}")
        bar.close()
        record = {"epoch": epoch + 1, "train_ppl": round(math.exp(loss_sum / max(1, n_batches)), 2),
                  "valid_ppl": round(evaluate_lm(model, valid_data, cfg.bptt, device), 2),
                  "seconds": round(time.perf_counter() - t0, 1)}
        history.append(record)
        log.info("LM epoch %d: %s", epoch + 1, record)
        checkpoint.save(ckpt_path, model, optim, cfg, checkpoint.Progress(epoch + 1, step, history))
    return history
