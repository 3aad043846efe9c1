from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.evaluation.data import Example
from models.runtime.bundle import Bundle
from models.runtime.text import BOS_ID, EOS_ID, Tokenizer
from models.training.awdlstm import AWDConfig, LanguageModel
from models.training.corpus import LeakFilter, leak_key
from models.training.train_lm import LMTrainConfig, batchify, evaluate_lm, token_stream, train_lm


def test_token_stream_frames_every_text(fixture_bundle: Bundle) -> None:
    tok = Tokenizer(fixture_bundle.tokenizer_path, 64)
    stream = token_stream(tok, ["I love Bernie", "Trump rally tonight"])
    assert stream[0] == BOS_ID and stream[-1] == EOS_ID
    assert (stream == BOS_ID).sum() == 2 and (stream == EOS_ID).sum() == 2
    assert batchify(stream, 3).shape == (3, len(stream) // 3)


def test_tied_decoder_stores_the_embedding_once() -> None:
    lm = LanguageModel(AWDConfig(vocab_size=30, emb_size=6, hidden_size=8))
    keys = list(lm.state_dict())
    assert sum("encoder.encoder.weight" in k for k in keys) == 1
    assert "decoder.bias" in keys


def test_lm_training_learns_a_repeating_sequence_and_resumes(tmp_path: Path) -> None:
    pattern = np.array([2, 5, 6, 7, 8, 9, 3], dtype=np.int64)
    stream = np.tile(pattern, 300)
    cfg = AWDConfig(vocab_size=12, emb_size=8, hidden_size=16).scaled_dropout(0.0)
    device = torch.device("cpu")
    torch.manual_seed(0)
    model = LanguageModel(cfg)
    before = evaluate_lm(model, batchify(stream[:700], 4), 10, device)
    train_cfg = LMTrainConfig(epochs=6, batch_size=8, bptt=10, lr=3e-2)
    history = train_lm(model, stream, stream[:700], train_cfg, tmp_path / "lm.ckpt", device, progress=False)
    assert history[-1]["valid_ppl"] < before / 3  # a predictable sequence: perplexity must collapse
    again = LanguageModel(cfg)  # a rerun with the finished checkpoint trains nothing more
    assert train_lm(again, stream, stream[:700], train_cfg, tmp_path / "lm.ckpt", device, progress=False) == history
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_leak_filter_matches_the_same_tweet_under_noise() -> None:
    assert leak_key("RT @bob: Trump WON!!! https://t.co/x #SemST") == leak_key("rt trump won")
    lf = LeakFilter(["Trump won the debate #SemST"])
    kept = lf.examples([Example("@x trump WON the debate!", "Donald Trump", "FAVOR"),
                        Example("Biden won the debate", "Joe Biden", "FAVOR")])
    assert [e.target for e in kept] == ["Joe Biden"] and lf.dropped == 1
