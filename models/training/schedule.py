"""ULMFiT's schedules as pure functions: slanted triangular rates, discriminative rates, gradual unfreezing."""

from __future__ import annotations


def stlr(step: int, total_steps: int, lr_max: float, cut_frac: float = 0.1, ratio: float = 32.0) -> float:
    """Slanted triangular learning rate (Howard & Ruder 2018, eq. 3).

    Rises linearly for the first cut_frac of the steps, then decays linearly; the lowest rate is lr_max/ratio.
    """
    if total_steps <= 0:
        raise ValueError("total_steps must be positive")
    cut = max(1, int(total_steps * cut_frac))
    p = step / cut if step < cut else 1 - (step - cut) / max(1, cut * (1 / cut_frac - 1))
    p = min(max(p, 0.0), 1.0)
    return lr_max * (1 + p * (ratio - 1)) / ratio


def discriminative_lrs(lr_top: float, n_groups: int, factor: float = 2.6) -> list[float]:
    """Rate per layer group, bottom to top: the top gets lr_top, each group below it lr/2.6 of the one above."""
    return [lr_top / factor ** (n_groups - 1 - i) for i in range(n_groups)]


def unfrozen_groups(epoch: int, n_groups: int) -> int:
    """Gradual unfreezing: in epoch 0 only the top group trains, one more group each epoch after."""
    return min(n_groups, epoch + 1)
