"""Per-epoch checkpoints shared by the LM and classifier trainers: resume exactly, or not at all.

A checkpoint holds the model, the optimiser, the progress (epochs done, optimiser steps, per-epoch history) and the
settings it was made with. It is reused only when the settings and the model's configuration are the same, and it is
written atomically, so a kill mid-write leaves the previous one intact.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


@dataclass
class Progress:
    epoch: int = 0  # epochs completed
    step: int = 0  # optimiser steps taken (the schedules are functions of it)
    history: list[dict[str, float]] = field(default_factory=list)


def resume(path: Path, model: Any, optim: torch.optim.Optimizer, settings: Any, device: Any,
           what: str) -> Progress:
    """The progress saved at `path` (model and optimiser restored), or a fresh start when there is none that
    matches these settings."""
    if not path.is_file():
        return Progress()
    saved = torch.load(path, map_location=device, weights_only=False)
    if saved.get("train") != asdict(settings) or saved.get("model_config") != model.cfg.to_dict() \
            or "progress" not in saved:
        log.warning("ignoring checkpoint %s: it was made with other settings", path)
        return Progress()
    model.load_state_dict(saved["model"])
    optim.load_state_dict(saved["optim"])
    progress = Progress(**saved["progress"])
    log.info("resuming %s training from %s after epoch %d", what, path, progress.epoch)
    return progress


def save(path: Path, model: Any, optim: torch.optim.Optimizer, settings: Any, progress: Progress) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "progress": asdict(progress),
                "train": asdict(settings), "model_config": model.cfg.to_dict()}, tmp)
    tmp.replace(path)  # atomic: a kill mid-write leaves the previous checkpoint intact
