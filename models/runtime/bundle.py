"""The model bundle contract: what infer loads, what training and export write.

A bundle is a folder:
    model.onnx        inputs input_ids int64 [batch, time], lengths int64 [batch]; output probs float32 [batch, labels]
    tokenizer.model   SentencePiece model used by models.runtime.text.Tokenizer
    meta.json         labels, targets, max_len, target_position, version, metrics, provenance (see BundleMeta)
    model.int8.onnx   optional: the same graph with int8 weights (models/training/quantize.py), run on CPUs
                      (meta.quantized)
    ngram.npz         optional: per-target n-gram tables (models/runtime/ngram.py), averaged with the ONNX model's
                      probabilities with weight meta.ensemble["ngram_weight"] (models/training/ensemble.py)
`load_bundle` is the one function that reads it; it imports no torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Where models.runtime.text.Tokenizer puts the target marker. "start": before the tweet (ulmfit-small-v5). "both":
# before and after it, so a forward and a backward LSTM each read the target last, right before their final state
# (models/README.md, the ablation: a forward member with the target after the tweet gains 1.5 F_avg on P-Stance).
TARGET_POSITIONS = ("start", "both")
MODEL_FILE = "model.onnx"
INT8_MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.model"
META_FILE = "meta.json"
BUNDLE_FORMAT = 1


class BundleError(ValueError):
    """The folder is not a valid model bundle; the message says what is missing or wrong."""


@dataclass(frozen=True)
class BundleMeta:
    version: str
    labels: list[str]
    targets: list[str]
    max_len: int
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    architecture: dict[str, Any] = field(default_factory=dict)
    ensemble: dict[str, Any] = field(default_factory=dict)  # empty: the ONNX model alone
    quantized: dict[str, Any] = field(default_factory=dict)  # empty: no int8 graph
    target_position: str = "start"  # where the tokenizer puts the target marker (TARGET_POSITIONS)
    calibration: dict[str, Any] = field(default_factory=dict)  # empty: served uncalibrated (calibration.py)
    format: int = BUNDLE_FORMAT

    @property
    def ngram_weight(self) -> float:
        return float(self.ensemble.get("ngram_weight", 0.0))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


@dataclass(frozen=True)
class Bundle:
    path: Path
    meta: BundleMeta

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_FILE

    @property
    def int8_model_path(self) -> Path | None:
        return self.path / str(self.meta.quantized.get("file", INT8_MODEL_FILE)) if self.meta.quantized else None

    @property
    def ngram_path(self) -> Path:
        return self.path / str(self.meta.ensemble.get("ngram_file", "ngram.npz"))


def load_bundle(path: str | Path) -> Bundle:
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"model bundle {path} is not a folder")
    missing = [f for f in (MODEL_FILE, TOKENIZER_FILE, META_FILE) if not (path / f).is_file()]
    if missing:
        raise BundleError(f"model bundle {path} lacks {', '.join(missing)}")
    try:
        raw = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        meta = BundleMeta(**raw)
    except (json.JSONDecodeError, TypeError) as exc:
        raise BundleError(f"model bundle {path}: invalid {META_FILE}: {exc}") from exc
    if meta.format != BUNDLE_FORMAT:
        raise BundleError(f"model bundle {path}: format {meta.format}, this code reads {BUNDLE_FORMAT}")
    if not meta.labels or not meta.targets or meta.max_len < 4:
        raise BundleError(f"model bundle {path}: labels, targets and max_len >= 4 are required")
    if meta.target_position not in TARGET_POSITIONS:
        raise BundleError(f"model bundle {path}: target_position {meta.target_position!r} is not one of "
                          f"{', '.join(TARGET_POSITIONS)}")
    bundle = Bundle(path=path, meta=meta)
    if meta.ensemble:
        if not 0.0 <= meta.ngram_weight <= 1.0:
            raise BundleError(f"model bundle {path}: ensemble ngram_weight {meta.ngram_weight} is not in [0, 1]")
        if not bundle.ngram_path.is_file():
            raise BundleError(f"model bundle {path} lacks {bundle.ngram_path.name}, which its meta.json names")
    if bundle.int8_model_path is not None and not bundle.int8_model_path.is_file():
        raise BundleError(f"model bundle {path} lacks {bundle.int8_model_path.name}, which its meta.json names")
    return bundle


def write_meta(path: str | Path, meta: BundleMeta) -> None:
    Path(path, META_FILE).write_text(meta.to_json() + "\n", encoding="utf-8")


RELEASE_DIR = Path(__file__).parents[1] / "release"


def find_release_bundle(release_dir: str | Path = RELEASE_DIR) -> Path | None:
    """The newest bundle under models/release (folders sorted by name, which embeds the version)."""
    release_dir = Path(release_dir)
    if not release_dir.is_dir():
        return None
    candidates = sorted(p for p in release_dir.iterdir() if (p / META_FILE).is_file())
    return candidates[-1] if candidates else None


def resolve_bundle(configured: str | Path | None = None) -> Bundle:
    """The configured bundle, else the newest shipped release."""
    if configured:
        return load_bundle(configured)
    release = find_release_bundle()
    if release is None:
        raise BundleError(f"no model bundle in {RELEASE_DIR} and none configured (PULSE_INFER_BUNDLE, --bundle)")
    return load_bundle(release)
