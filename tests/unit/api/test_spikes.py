"""The spike rule on series with known spikes and known non-spikes (pure)."""

from __future__ import annotations

from services.api.schemas import HistoryPoint
from services.api.spikes import BASELINE_POINTS, MIN_VOLUME, detect, robust_z


def series(volumes: list[int], favor_share: float = 0.5, last_favor_share: float | None = None) -> list[HistoryPoint]:
    out = []
    for i, v in enumerate(volumes):
        share = last_favor_share if (last_favor_share is not None and i == len(volumes) - 1) else favor_share
        favor = round(v * share)
        against = v - favor
        net = (favor - against) / v if v else None
        out.append(HistoryPoint(start=1_764_870_000 + 300 * i, total=v, favor=favor, against=against, none=0,
                                net=net))
    return out


def test_a_burst_far_above_a_noisy_baseline_is_a_volume_spike() -> None:
    base = [20, 25, 18, 22, 30, 19, 21, 24, 23, 20, 26, 22] * 2
    spikes = detect("Joe Biden", "Democrats", series([*base[:BASELINE_POINTS], 90]))
    assert [s.kind for s in spikes] == ["volume"] and spikes[0].z is not None and spikes[0].z > 10
    assert spikes[0].baseline_volume == 22.0


def test_ordinary_noise_a_quiet_target_and_a_short_series_are_not() -> None:
    base = [20, 25, 18, 22, 30, 19, 21, 24, 23, 20, 26, 22] * 2
    assert detect("Joe Biden", "Democrats", series([*base[:BASELINE_POINTS], 31])) == []
    assert detect("Jill Stein", "Greens", series([0] * BASELINE_POINTS + [MIN_VOLUME - 1])) == []  # 0 → 9
    assert detect("Joe Biden", "Democrats", series([20] * 5)) == []


def test_a_turn_in_net_stance_is_a_net_spike() -> None:
    spikes = detect("Donald Trump", "Republicans", series([40] * (BASELINE_POINTS + 1), favor_share=0.7,
                                                           last_favor_share=0.2))
    assert [s.kind for s in spikes] == ["net"]
    assert spikes[0].baseline_net == 0.4 and spikes[0].net == -0.6


def test_the_robust_z_score_ignores_one_old_burst_and_never_divides_by_zero() -> None:
    assert robust_z(5, [5] * 10) == 0.0
    assert robust_z(50, [10] * 22 + [500]) > 20  # one earlier burst does not raise the baseline
