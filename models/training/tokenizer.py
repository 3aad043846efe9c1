"""Training the SentencePiece model that models/runtime/text.py tokenises with."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from models.runtime.text import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID, normalise


def train_sentencepiece(texts: Iterable[str], out_prefix: str | Path, vocab_size: int) -> Path:
    """Train the SentencePiece model on normalised text; returns the .model path."""
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=(normalise(t) for t in texts),
        model_prefix=str(out_prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=0.9995,
        byte_fallback=True,  # emoji and rare scripts never become <unk>
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        user_defined_symbols=list(SPECIAL_TOKENS),
        hard_vocab_limit=False,  # tiny fixture corpora cannot always fill the asked-for vocabulary
        num_threads=2,
        minloglevel=2,
    )
    return out_prefix.with_suffix(".model")
