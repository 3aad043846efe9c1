from __future__ import annotations

from dataclasses import replace

import torch

from models.runtime.bundle import Bundle
from models.runtime.text import BOS_ID, EOS_ID, PAD_ID, Tokenizer
from models.training.awdlstm import AWDConfig, StanceClassifier, masked_concat_pool, reverse_padded
from models.training.train_lm import token_stream

CFG = AWDConfig(vocab_size=50, emb_size=8, hidden_size=12, n_layers=3, n_classes=3, head_hidden=6)


def test_shapes_and_layer_sizes() -> None:
    torch.manual_seed(0)
    model = StanceClassifier(CFG).eval()
    ids = torch.randint(4, 50, (5, 9))
    lengths = torch.tensor([9, 3, 1, 7, 9])
    assert model(ids, lengths).shape == (5, 3)
    raw, dropped, states = model.encoder(ids)
    assert [s[0].shape[-1] for s in states] == [12, 12, 8]
    assert [o.shape[-1] for o in raw] == [12, 12, 8]  # last layer outputs emb_size (tied LM weights)
    assert len(dropped) == 3
    assert len(model.layer_groups()) == 5  # embedding, 3 LSTMs, head


def test_padding_does_not_change_the_prediction() -> None:
    torch.manual_seed(0)
    model = StanceClassifier(CFG).eval()
    row = torch.tensor([[2, 7, 9, 11, 13]])
    padded = torch.cat([row, torch.full((1, 6), PAD_ID)], dim=1)
    with torch.no_grad():
        a = model(row, torch.tensor([5]))
        b = model(padded, torch.tensor([5]))
    assert torch.allclose(a, b, atol=1e-6)


def test_concat_pool_ignores_padding_positions() -> None:
    out = torch.tensor([[[1.0], [3.0], [100.0]], [[2.0], [-100.0], [-100.0]]])
    pooled = masked_concat_pool(out, torch.tensor([2, 1]))
    # [last, max, mean] for each row, over real tokens only
    assert pooled.tolist() == [[3.0, 3.0, 2.0], [2.0, 2.0, 2.0]]


def test_weight_dropout_is_active_in_training_only_and_keeps_raw_weights() -> None:
    torch.manual_seed(0)
    model = StanceClassifier(AWDConfig(vocab_size=50, emb_size=8, hidden_size=12, weight_p=0.5))
    ids, lengths = torch.randint(4, 50, (4, 6)), torch.tensor([6, 6, 6, 6])
    raw_before = model.encoder.rnns[0].lstm.weight_hh_l0.detach().clone()
    model.train()
    a, b = model(ids, lengths), model(ids, lengths)
    assert not torch.allclose(a, b)
    a.sum().backward()  # gradients reach the raw hidden-to-hidden weight through the dropped copy
    assert model.encoder.rnns[0].lstm.weight_hh_l0.grad is not None
    assert torch.equal(model.encoder.rnns[0].lstm.weight_hh_l0.detach(), raw_before)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model(ids, lengths), model(ids, lengths))


def test_bpt3c_windows_give_the_one_pass_outputs_and_backprop_through_every_window() -> None:
    torch.manual_seed(0)
    cfg = AWDConfig(vocab_size=50, emb_size=8, hidden_size=12, bptt=5)
    model = StanceClassifier(cfg).eval()
    ids = torch.randint(1, 50, (3, 17))
    lengths = torch.tensor([17, 9, 3])
    windows = model.encode(ids)  # 17 > 5: four windows
    one_pass, _, _ = model.encoder(ids)
    assert windows.shape == (3, 17, 8)
    assert torch.allclose(windows, one_pass[-1], atol=1e-6)
    assert torch.allclose(model(ids, lengths), model.head(one_pass[-1], lengths), atol=1e-6)

    model.train()
    model.zero_grad()
    model(ids, lengths).sum().backward()
    first_window_tokens = ids[:, :5].unique()
    grad = model.encoder.encoder.weight.grad
    assert grad is not None and grad[first_window_tokens].abs().sum() > 0  # the first window gets a gradient


def test_reverse_padded_reverses_each_row_within_its_length() -> None:
    ids = torch.tensor([[2, 5, 6, 7], [2, 5, 0, 0], [9, 0, 0, 0]])
    out = reverse_padded(ids, torch.tensor([4, 2, 1]), PAD_ID)
    assert out.tolist() == [[7, 6, 5, 2], [5, 2, 0, 0], [9, 0, 0, 0]]


def test_a_backward_classifier_reads_its_rows_reversed() -> None:
    # same weights, one flagged backward: it gives what the forward one gives on the reversed rows
    torch.manual_seed(0)
    fwd = StanceClassifier(CFG).eval()
    bwd = StanceClassifier(replace(CFG, backward=True)).eval()
    bwd.load_state_dict(fwd.state_dict())
    ids = torch.tensor([[2, 5, 6, 7, 8], [2, 5, 9, 0, 0]])
    lengths = torch.tensor([5, 3])
    with torch.no_grad():
        got = bwd(ids, lengths)
        expected = fwd(reverse_padded(ids, lengths, PAD_ID), lengths)
        assert torch.allclose(got, expected) and not torch.allclose(got, fwd(ids, lengths))


def test_a_backward_stream_is_the_forward_one_reversed(fixture_bundle: Bundle) -> None:
    tok = Tokenizer(fixture_bundle.tokenizer_path, 32)
    texts = ["Bernie for president", "Biden in Ohio today"]
    fwd, bwd = token_stream(tok, texts), token_stream(tok, texts, backward=True)
    assert bwd.tolist() == fwd.tolist()[::-1] and bwd[0] == EOS_ID and bwd[-1] == BOS_ID
