"""Prevalence-corrected shares for a snapshot: FAVOR / AGAINST / NONE per target and party, corrected for the
served model's measured error rates (models/runtime/quantify.py), with 95% intervals.

The error rates come from the served bundle's `calibration` (confusion counts on labelled data it was not trained
on), as infer announced it (services/api/served.py).
A target without them (one the model does not score, or a bundle without calibration), or whose correction did
not beat raw counting when the bundle was calibrated (`serve_shares`: models/runtime/calibration.py), gets no
shares, and neither does a party with counted posts about such a target: a partial correction would look exact.
Each null says why (`shares_unavailable`), so the page can tell a reader to trust the raw counts instead.
Results are cached by (target, counts): the bootstrap is deterministic, and counts change only as posts arrive.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from models.runtime.calibration import Calibration
from models.runtime.live_rates import live_corrected_shares
from models.runtime.quantify import Shares, corrected_shares, pooled
from services.api.live_review import NOTHING, LiveReviews, LiveSample
from services.common.schemas import LABELS

METHOD = "adjusted classify-and-count"
NOTHING_COUNTED = "nothing counted in this window"
NO_ERROR_RATES = "the model's error rates for this target were never measured"
NOT_BETTER = ("on labelled test posts about this target, correcting for the model's errors did not bring the shares "
              "closer to the truth")


def party_not_correctable(targets: list[str]) -> str:
    return f"the figures for {' and '.join(targets)} cannot be corrected, and the party's include them"


class ShareEstimator:
    def __init__(self, calibration: Calibration | None, unavailable: str = "") -> None:
        """`unavailable`: why there are no corrected shares at all, said for every target when calibration is
        None (no error rates measured, no model known, several models scoring)."""
        self.calibration, self.unavailable = calibration, unavailable or NO_ERROR_RATES
        # An entry keeps its bootstrap draws for the party pooling: ~14 KB. Live counts change with every post, so
        # old entries are rarely hit again; 4096 of them grew the API by ~18 MB over a million-post soak (bounded
        # at ~58 MB). 256 hold every window of every target at once, and cost at most ~3.6 MB.
        self._shares = lru_cache(maxsize=256)(self._compute)
        self._live_shares = lru_cache(maxsize=256)(self._compute_live)
        self._live: LiveReviews = NOTHING  # set per snapshot (annotate): reviewed samples move every half minute
        if calibration is not None and list(calibration.labels) != list(LABELS):
            raise ValueError(f"calibration labels {calibration.labels} are not {LABELS}")

    def _compute(self, target: str, favor: int, against: int, none: int) -> Shares | None:
        assert self.calibration is not None
        return corrected_shares(np.array([favor, against, none]), self.calibration.targets[target].confusion)

    def _compute_live(self, target: str, favor: int, against: int, none: int, sample_key: tuple[int, int],
                      pairs_key: tuple[int, int]) -> Shares | None:
        sample = self._live.samples[target]
        measured = self.calibration.targets.get(target) if self.calibration is not None else None
        prior = None if measured is None else np.asarray(measured.confusion, dtype=np.float64) + 0.5
        return live_corrected_shares(np.array([favor, against, none]), sample.reference, sample.model, sample.weights,
                                     self._live.pairs, prior)

    def live_sample(self, target: str) -> LiveSample | None:
        return self._live.samples.get(target)

    def target_shares(self, target: str, figures: dict[str, Any]) -> tuple[Shares | None, str | None]:
        """The target's corrected shares, or None and the reason. With enough reviewed posts of this stream, the
        error rates are theirs (live_rates.py), whatever the datasets said."""
        if figures["favor"] + figures["against"] + figures["none"] == 0:
            return None, NOTHING_COUNTED
        if (sample := self._live.samples.get(target)) is not None:
            return self._live_shares(target, figures["favor"], figures["against"], figures["none"], sample.key,
                                     self._live.pairs_key), None
        if self.calibration is None:
            return None, self.unavailable
        if target not in self.calibration.targets:
            return None, NO_ERROR_RATES
        if not self.calibration.targets[target].serve_shares:
            return None, NOT_BETTER
        return self._shares(target, figures["favor"], figures["against"], figures["none"]), None

    def annotate(self, snapshot: dict[str, Any], live: LiveReviews = NOTHING) -> dict[str, Any]:
        """Adds `shares` and `shares_unavailable` to each target and party of a snapshot."""
        self._live = live if live.version is not None else NOTHING
        per_target: dict[str, tuple[Shares | None, str | None]] = {}
        for name, figures in snapshot["targets"].items():
            shares, why = per_target[name] = self.target_shares(name, figures)
            sample = self._live.samples.get(name)
            figures["shares"], figures["shares_unavailable"] = _publish(shares, [sample]), why
        for figures in snapshot["parties"].values():
            counted = [t for t in figures["targets"] if snapshot["targets"].get(t, {}).get("total", 0) > 0]
            missing = [t for t in counted if per_target.get(t, (None, None))[0] is None]
            if not counted:
                figures["shares"], figures["shares_unavailable"] = None, NOTHING_COUNTED
            elif missing:
                figures["shares"] = None
                figures["shares_unavailable"] = party_not_correctable(missing)
            else:
                parts = [(float(snapshot["targets"][t]["total"]), per_target[t][0]) for t in counted]
                figures["shares"] = _publish(pooled([(n, s) for n, s in parts if s is not None]),
                                             [self._live.samples.get(t) for t in counted])
                figures["shares_unavailable"] = None
        return snapshot


def _publish(shares: Shares | None, samples: list[LiveSample | None]) -> dict[str, Any] | None:
    """The API's form of shares; `samples`: the live sample each part was corrected with (None: the datasets')."""
    if shares is None:
        return None
    out: dict[str, Any] = {label.lower(): {"estimate": round(float(shares.estimate[i]), 4),
                                           "low": round(float(shares.low[i]), 4),
                                           "high": round(float(shares.high[i]), 4)}
                           for i, label in enumerate(LABELS)}
    out["method"] = METHOD
    live = [s for s in samples if s is not None]
    out["error_rates"] = "datasets" if not live else "live" if len(live) == len(samples) else "mixed"
    out["reviewed"] = sum(s.size for s in live) if live else None
    return out
