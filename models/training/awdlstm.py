"""AWD-LSTM (Merity et al. 2017) as ULMFiT uses it: encoder, tied LM decoder, concat-pooling classifier.

Regularisers: embedding dropout (whole words), locked/variational dropout on inputs and between layers,
DropConnect on the hidden-to-hidden matrices (WeightDropout), AR/TAR on the LM's outputs.
The last LSTM's output size is emb_size so the LM decoder can tie its weights to the embedding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AWDConfig:
    vocab_size: int
    emb_size: int = 400
    hidden_size: int = 1152
    n_layers: int = 3
    pad_id: int = 0
    embed_p: float = 0.02
    input_p: float = 0.25
    weight_p: float = 0.2
    hidden_p: float = 0.15
    # classifier head
    n_classes: int = 3
    head_hidden: int = 50
    head_p: float = 0.1
    bptt: int = 72  # BPT3C window: longer classifier inputs run window by window, states carried
    backward: bool = False  # read each input from its last token to its first: the classifier of a backward LM

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def scaled_dropout(self, mult: float) -> AWDConfig:
        return replace(
            self,
            embed_p=self.embed_p * mult,
            input_p=self.input_p * mult,
            weight_p=self.weight_p * mult,
            hidden_p=self.hidden_p * mult,
            head_p=self.head_p * mult,
        )

    def layer_sizes(self, i: int) -> tuple[int, int]:
        n_in = self.emb_size if i == 0 else self.hidden_size
        n_out = self.emb_size if i == self.n_layers - 1 else self.hidden_size
        return n_in, n_out


class LockedDropout(nn.Module):
    """Variational dropout: one mask per sequence, shared over time (input is [batch, time, features])."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class WeightDropLSTM(nn.Module):
    """One-layer LSTM whose hidden-to-hidden matrix gets DropConnect each training forward.

    The trained weight lives in `weight_hh_raw`; the dropped copy is passed through
    torch.func.functional_call, so no parameter is replaced in place (which breaks autograd and cuDNN).
    """

    def __init__(self, n_in: int, n_out: int, weight_p: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_in, n_out, batch_first=True)
        self.weight_p = weight_p

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if not self.training or self.weight_p == 0.0:
            return self.lstm(x, state)
        params: dict[str, torch.Tensor] = dict(self.lstm.named_parameters())
        params["weight_hh_l0"] = F.dropout(params["weight_hh_l0"], self.weight_p, training=True)
        return torch.func.functional_call(self.lstm, params, (x, state))


class EmbeddingDropout(nn.Module):
    """Drops whole rows of the embedding matrix (a dropped word is zero everywhere in the batch)."""

    def __init__(self, emb: nn.Embedding, p: float) -> None:
        super().__init__()
        self.emb, self.p = emb, p

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        weight = self.emb.weight
        if self.training and self.p > 0.0:
            mask = weight.new_empty(weight.size(0), 1).bernoulli_(1 - self.p) / (1 - self.p)
            weight = weight * mask
        return F.embedding(ids, weight, self.emb.padding_idx)


class AWDLSTMEncoder(nn.Module):
    def __init__(self, cfg: AWDConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Embedding(cfg.vocab_size, cfg.emb_size, padding_idx=cfg.pad_id)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        self.encoder_dp = EmbeddingDropout(self.encoder, cfg.embed_p)
        self.rnns = nn.ModuleList(
            WeightDropLSTM(*cfg.layer_sizes(i), weight_p=cfg.weight_p) for i in range(cfg.n_layers)
        )
        self.input_dp = LockedDropout(cfg.input_p)
        self.hidden_dps = nn.ModuleList(LockedDropout(cfg.hidden_p) for _ in range(cfg.n_layers))

    def forward(self, ids: torch.Tensor, hidden: Hidden | None = None
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], Hidden]:
        """Returns (raw outputs, dropped outputs) per layer, each [batch, time, size], and the final states.

        The classifier starts from zero states (hidden=None); the LM carries states across BPTT windows.
        """
        x = self.input_dp(self.encoder_dp(ids))
        raw, dropped, states = [], [], []
        last = len(self.rnns) - 1
        for i, (rnn, hid_dp) in enumerate(zip(self.rnns, self.hidden_dps, strict=True)):
            out, state = rnn(x, None if hidden is None else hidden[i])
            raw.append(out)
            states.append(state)
            x = hid_dp(out) if i < last else out  # the LM decoder's output dropout covers the last layer
            dropped.append(x)
        return raw, dropped, states


Hidden = list[tuple[torch.Tensor, torch.Tensor]]


class LanguageModel(nn.Module):
    """Encoder + tied decoder. forward returns logits [batch, time, vocab], raw and dropped last outputs, states."""

    def __init__(self, cfg: AWDConfig, output_p: float = 0.1) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = AWDLSTMEncoder(cfg)
        self.decoder = LMDecoder(cfg.vocab_size, output_p)

    def forward(self, ids: torch.Tensor, hidden: Hidden | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Hidden]:
        raw, dropped, states = self.encoder(ids, hidden)
        return self.decoder(dropped[-1], self.encoder.encoder.weight), raw[-1], dropped[-1], states

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Embedding (tied to the decoder) + decoder bias, then each LSTM: bottom to top."""
        groups = [[*self.encoder.encoder.parameters(), self.decoder.bias]]
        groups += [list(rnn.parameters()) for rnn in self.encoder.rnns]
        return groups


class LMDecoder(nn.Module):
    """Linear decoder tied to the embedding: the LM head of ULMFiT's first two stages."""

    def __init__(self, vocab_size: int, output_p: float = 0.1) -> None:
        super().__init__()
        self.dp = LockedDropout(output_p)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, last: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        # Tied weights: the embedding matrix is passed in, not held, so it is stored once in the state dict.
        return F.linear(self.dp(last), embedding, self.bias)


def masked_concat_pool(out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[last real output, max, mean] over the real tokens only; padding is on the right.

    Written without data-dependent Python control flow so it exports to ONNX as is.
    """
    time = out.size(1)
    mask = torch.arange(time, device=out.device).unsqueeze(0) < lengths.unsqueeze(1)  # [B, T]
    mask3 = mask.unsqueeze(2)
    last = out.gather(1, (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, out.size(2))).squeeze(1)
    max_pool = out.masked_fill(~mask3, float("-inf")).amax(dim=1)
    mean_pool = (out * mask3).sum(dim=1) / lengths.clamp(min=1).unsqueeze(1).to(out.dtype)
    return torch.cat([last, max_pool, mean_pool], dim=1)


class PoolingClassifierHead(nn.Module):
    """fastai's PoolingLinearClassifier: two BatchNorm-Dropout-Linear blocks over the concat pool."""

    def __init__(self, cfg: AWDConfig) -> None:
        super().__init__()
        n_pool = 3 * cfg.emb_size
        self.layers = nn.Sequential(
            nn.BatchNorm1d(n_pool),
            nn.Dropout(cfg.head_p),
            nn.Linear(n_pool, cfg.head_hidden),
            nn.ReLU(),
            nn.BatchNorm1d(cfg.head_hidden),
            nn.Dropout(cfg.head_p * 2),
            nn.Linear(cfg.head_hidden, cfg.n_classes),
        )

    def forward(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.layers(masked_concat_pool(out, lengths))


def reverse_padded(ids: torch.Tensor, lengths: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Each row's first `length` tokens in reverse order, its padding left at the end (so pooling masks still hold).
    A backward LM was trained on reversed text; its classifier reads the target prefix last."""
    t = torch.arange(ids.size(1), device=ids.device).unsqueeze(0)
    idx = lengths.unsqueeze(1) - 1 - t
    return torch.where(idx >= 0, ids.gather(1, idx.clamp(min=0)), torch.full_like(ids, pad_id))


class StanceClassifier(nn.Module):
    """Encoder + head. forward returns logits [batch, n_classes]."""

    def __init__(self, cfg: AWDConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = AWDLSTMEncoder(cfg)
        self.head = PoolingClassifierHead(cfg)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.cfg.backward:  # inside the graph, so the exported model takes the same inputs as a forward one
            ids = reverse_padded(ids, lengths, self.cfg.pad_id)
        return self.head(self.encode(ids), lengths)

    def encode(self, ids: torch.Tensor) -> torch.Tensor:
        """The top layer's outputs [batch, time, emb] over the whole input.

        BPT3C (ULMFiT, section 3.3): an input longer than `bptt` tokens runs in consecutive windows, each starting
        from the states the previous one ended in; the windows' outputs are concatenated for the pooling, and the
        gradient flows back through every window that fed it. Tweets fit one window, and so does the ONNX export's
        example input, so the served graph is the plain one (numerically the same: carrying states is exact).
        """
        if ids.size(1) <= self.cfg.bptt:
            raw, _, _ = self.encoder(ids)
            return raw[-1]
        outs, hidden = [], None
        for start in range(0, ids.size(1), self.cfg.bptt):
            raw, _, hidden = self.encoder(ids[:, start:start + self.cfg.bptt], hidden)
            outs.append(raw[-1])
        return torch.cat(outs, dim=1)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Groups for discriminative rates and gradual unfreezing, bottom to top:
        embedding, each LSTM, head (fastai's awd_lstm_clas_split)."""
        groups = [list(self.encoder.encoder.parameters())]
        groups += [list(rnn.parameters()) for rnn in self.encoder.rnns]
        groups.append(list(self.head.parameters()))
        return groups
