"""Text normalisation and SentencePiece tokenisation: the one path shared by training and serving.

Training (models.training.train_clf) and the inference service (services.infer) both call `Tokenizer.encode_batch`,
so a tweet becomes the same ids in both places; tests/unit/models/test_text.py checks it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm

from models.runtime.bundle import TARGET_POSITIONS, Bundle

# Special tokens, fastai-style names so they never collide with real words.
TK_URL = "xxurl"  # any link
TK_UP = "xxup"  # the next word was written in capitals (shouting carries stance)
TK_TGT = "xxtgt"  # starts the target marker: "xxtgt donald trump xxsep <tweet>"
TK_SEP = "xxsep"
SPECIAL_TOKENS = (TK_URL, TK_UP, TK_TGT, TK_SEP)

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)")
_REPEAT = re.compile(r"(\S)\1{3,}")  # 4+ of the same character → 3 ("soooooo" → "sooo")
_UPPER_WORD = re.compile(r"\b([A-Z][A-Z']+)\b")
_SPACES = re.compile(r"\s+")


def _split_hashtag(match: re.Match[str]) -> str:
    # "#FeelTheBern" → "# feel the bern": the words are shared with plain text, the "#" is kept as a signal.
    body = match.group(1)
    if not body.isupper() and not body.islower():
        body = _CAMEL.sub(" ", body)
    return f"# {body}"


def normalise(text: str) -> str:
    """Tweet text → the normalised string the tokenizer sees (pure, deterministic)."""
    text = html.unescape(text)
    text = _URL.sub(f" {TK_URL} ", text)
    text = _HASHTAG.sub(_split_hashtag, text)
    text = _REPEAT.sub(lambda m: m.group(1) * 3, text)
    text = _UPPER_WORD.sub(lambda m: f"{TK_UP} {m.group(1)}", text)
    text = text.lower()
    return _SPACES.sub(" ", text).strip()


def target_prefix(target: str) -> str:
    """The target-conditioning prefix: the target's name as text, so one model serves every candidate."""
    return f"{TK_TGT} {target.lower()} {TK_SEP}"


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray  # int64 [batch, time], right-padded with PAD_ID
    lengths: np.ndarray  # int64 [batch], real tokens per row (>= 1)


class Tokenizer:
    """SentencePiece over normalised text, with the target marker and truncation of the tweet part."""

    def __init__(self, model_path: str | Path, max_len: int, target_position: str = "start") -> None:
        if target_position not in TARGET_POSITIONS:
            raise ValueError(f"target_position must be one of {', '.join(TARGET_POSITIONS)}, "
                             f"not {target_position!r}")
        self.sp = spm.SentencePieceProcessor(model_file=str(model_path))
        self.max_len = max_len
        self.target_position = target_position
        self._prefix_cache: dict[str, list[int]] = {}

    @classmethod
    def for_bundle(cls, bundle: Bundle) -> Tokenizer:
        """The tokenizer a bundle was trained with: its SentencePiece model, max_len and target position."""
        return cls(bundle.tokenizer_path, bundle.meta.max_len, bundle.meta.target_position)

    @property
    def vocab_size(self) -> int:
        return int(self.sp.get_piece_size())

    def prefix_ids(self, target: str) -> list[int]:
        """The ids every input about `target` starts with (BOS, then the target marker and the target)."""
        ids = self._prefix_cache.get(target)
        if ids is None:
            ids = [BOS_ID, *self.sp.encode(target_prefix(target))]
            self._prefix_cache[target] = ids
        return ids

    def _row(self, body: list[int], target: str) -> list[int]:
        """BOS, the marker, the tweet cut to fit max_len, and with "both" the marker again (without BOS)."""
        prefix = self.prefix_ids(target)
        suffix = prefix[1:] if self.target_position == "both" else []
        return prefix + body[: max(1, self.max_len - len(prefix) - len(suffix))] + suffix

    def encode(self, text: str, target: str) -> list[int]:
        return self._row(self.sp.encode(normalise(text)), target)

    def encode_batch(self, texts: Sequence[str], targets: Sequence[str]) -> Encoded:
        bodies = self.sp.encode([normalise(t) for t in texts])
        return pad([self._row(body, target) for target, body in zip(targets, bodies, strict=True)])


def pad(rows: Sequence[Sequence[int]]) -> Encoded:
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max()) if len(rows) else 1
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return Encoded(ids=ids, lengths=lengths)
