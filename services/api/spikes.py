"""Spikes: a target whose latest volume or net stance departs from its own recent baseline. Pure.

The rule (documented in the README): the series is a target's 5-minute points over the last 2 hours. The latest
point is a spike when its volume's robust z-score against the 23 points before it is at least Z (3.5), and it
has at least MIN_VOLUME posts (so a quiet target's 1 → 4 is not news); or when its net stance moves by at least
NET_SHIFT (0.5) from the baseline's median net with at least MIN_VOLUME stance-taking posts. The robust z-score
is (x − median) / (1.4826 · MAD), with the MAD floored at 1 post, so a flat baseline does not divide by zero.
Median and MAD ignore one-off bursts in the baseline, unlike a mean and a standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from services.api.schemas import HistoryPoint

STEP_S = 300
BASELINE_POINTS = 23
Z = 3.5
MIN_VOLUME = 10
NET_SHIFT = 0.5
MAD_SCALE = 1.4826  # makes the MAD estimate a standard deviation for normal data


@dataclass(frozen=True)
class Spike:
    target: str
    party: str
    kind: str  # "volume" or "net"
    start: int  # unix seconds the spiking point starts
    end: int
    volume: int
    baseline_volume: float  # the baseline's median posts per point
    z: float | None  # the robust z-score (volume spikes)
    net: float | None
    baseline_net: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def robust_z(value: float, baseline: list[float]) -> float:
    mid = median(baseline)
    mad = max(median(abs(x - mid) for x in baseline), 1.0)
    return (value - mid) / (MAD_SCALE * mad)


def detect(target: str, party: str, points: Sequence[HistoryPoint]) -> list[Spike]:
    """Spikes at the latest point of a target's series (oldest first, each with start/total/favor/against/net)."""
    if len(points) < BASELINE_POINTS + 1:
        return []
    latest, base = points[-1], points[-1 - BASELINE_POINTS:-1]
    volumes = [float(p.total) for p in base]
    found = []
    z = robust_z(latest.total, volumes)
    common: dict[str, Any] = {"target": target, "party": party, "start": latest.start, "end": latest.start + STEP_S,
              "volume": latest.total, "baseline_volume": median(volumes)}
    if latest.total >= MIN_VOLUME and z >= Z:
        found.append(Spike(kind="volume", z=z, net=latest.net, baseline_net=None, **common))
    nets = [p.net for p in base if p.net is not None]
    stance = latest.favor + latest.against
    if nets and latest.net is not None and stance >= MIN_VOLUME:
        base_net = median(nets)
        if abs(latest.net - base_net) >= NET_SHIFT:
            found.append(Spike(kind="net", z=None, net=latest.net, baseline_net=base_net, **common))
    return found
