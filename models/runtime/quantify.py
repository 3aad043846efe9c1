"""Prevalence-corrected shares: what fraction of a window's posts are FAVOR, AGAINST and NONE, corrected for the
classifier's error rates, with an uncertainty interval. numpy only; pure.

Raw classify-and-count is biased whenever the stream's class mix differs from the data the classifier was
tuned on: a model that rarely says NONE turns news into FAVOR and AGAINST. Adjusted classify-and-count (ACC;
Forman 2008) inverts the error rates: if M[i, j] = P(predicted j | true i), the observed predicted shares are
q = p @ M, so the true shares p solve that system. We solve it by least squares on the probability simplex (so
shares are never negative), with M measured on labelled data the model did not train on (the bundle's
`calibration.confusion`).

The interval is a parametric bootstrap over both sources of error: the window's own sampling (its counts drawn
again from a multinomial) and the error rates' (each row of M drawn from its Dirichlet posterior given the
calibration counts). The 2.5th and 97.5th percentiles of the corrected shares over the draws make a 95% interval;
with few posts, or few calibration examples of a class, it is wide, as it should be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DRAWS = 400
PROJECTION_STEPS = 200


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto the probability simplex (Duchi et al. 2008)."""
    n = v.shape[-1]
    u = np.sort(v, axis=-1)[..., ::-1]
    css = np.cumsum(u, axis=-1) - 1.0
    k = np.arange(1, n + 1)
    cond = u - css / k > 0
    rho = n - 1 - np.argmax(cond[..., ::-1], axis=-1)
    theta = np.take_along_axis(css, rho[..., None], axis=-1) / (rho[..., None] + 1)
    return np.maximum(v - theta, 0.0)


def solve_shares(observed: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The shares p on the simplex minimising ||p @ M − q||²; batched over a leading axis.

    observed: [k] or [n, k] predicted-label shares q; rates: [k, k] or [n, k, k], rows P(predicted | true).
    Where M is invertible and the exact solution has no negative share it is the answer (rows of M and q sum to
    1, so it sums to 1); elsewhere projected gradient descent on the simplex finds the least-squares one.
    """
    single = observed.ndim == 1
    q = np.atleast_2d(observed).astype(np.float64)
    m = np.broadcast_to(rates, (q.shape[0], *rates.shape[-2:])).astype(np.float64)
    p = np.empty_like(q)
    try:
        exact = np.linalg.solve(np.swapaxes(m, -1, -2), q[..., None])[..., 0]
        ok = (exact >= 0).all(axis=-1)
    except np.linalg.LinAlgError:
        exact, ok = q, np.zeros(len(q), dtype=bool)
    p[ok] = exact[ok]
    if (~ok).any():
        p[~ok] = _projected_least_squares(q[~ok], m[~ok])
    return p[0] if single else p


def _projected_least_squares(q: np.ndarray, m: np.ndarray) -> np.ndarray:
    p = np.full(q.shape, 1.0 / q.shape[-1])
    step = 1.0 / np.maximum(np.linalg.norm(m, ord=2, axis=(-2, -1)) ** 2, 1e-9)  # 1 / Lipschitz constant
    for _ in range(PROJECTION_STEPS):
        residual = np.einsum("...i,...ij->...j", p, m) - q
        grad = np.einsum("...ij,...j->...i", m, residual)
        p = project_to_simplex(p - step[..., None] * grad)
    return p


@dataclass(frozen=True)
class Shares:
    estimate: np.ndarray  # [k] corrected shares
    low: np.ndarray  # [k] 2.5th percentile
    high: np.ndarray  # [k] 97.5th percentile
    draws: np.ndarray  # [DRAWS, k]: kept so shares of several targets can be pooled (party totals)


def corrected_shares(counts: np.ndarray, confusion: np.ndarray, draws: int = DRAWS,
                     rng: np.random.Generator | None = None) -> Shares | None:
    """ACC shares with a 95% bootstrap interval for predicted-label `counts` [k] given calibration `confusion`
    [true, predicted] counts; None when nothing was counted."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    if n <= 0:
        return None
    rng = rng or np.random.default_rng(0)  # fixed: the same counts give the same interval on every request
    confusion = np.asarray(confusion, dtype=np.float64)
    rates = (confusion + 0.5) / (confusion + 0.5).sum(axis=1, keepdims=True)
    estimate = solve_shares(counts / n, rates)
    # The observed shares are drawn from their posterior (Jeffreys prior), like the rates below: a multinomial
    # bootstrap at the observed shares collapses to a point when a label has 0 posts (1 post in favour gave 100%
    # in favour, interval 100–100%).
    observed = rng.dirichlet(counts + 0.5, size=draws)
    sampled_rates = np.stack([rng.dirichlet(row + 0.5, size=draws) for row in confusion], axis=1)
    boot = solve_shares(observed, sampled_rates)
    return Shares(estimate, np.percentile(boot, 2.5, axis=0), np.percentile(boot, 97.5, axis=0), boot)


def pooled(parts: list[tuple[float, Shares]]) -> Shares | None:
    """Shares over several targets weighted by their post counts (a party's), the draws pooled in step."""
    parts = [(n, s) for n, s in parts if n > 0]
    if not parts:
        return None
    total = sum(n for n, _ in parts)
    estimate = sum(n * s.estimate for n, s in parts) / total
    draws = sum(n * s.draws for n, s in parts) / total
    return Shares(np.asarray(estimate), np.percentile(draws, 2.5, axis=0), np.percentile(draws, 97.5, axis=0),
                  np.asarray(draws))
