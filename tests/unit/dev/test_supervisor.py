from __future__ import annotations

from services.dev.supervisor import RestartPolicy


def test_backoff_doubles_caps_and_gives_up_on_a_crash_loop() -> None:
    t = [0.0]
    policy = RestartPolicy(base_s=1, max_s=5, window_s=100, max_restarts=4, clock=lambda: t[0])
    assert [policy.delay("infer") for _ in range(4)] == [1, 2, 4, 5]
    assert policy.delay("infer") is None  # a fifth exit within the window: a crash loop
    assert policy.delay("api") == 1  # each process has its own history


def test_restarts_outside_the_window_are_forgotten() -> None:
    t = [0.0]
    policy = RestartPolicy(base_s=1, max_s=30, window_s=60, max_restarts=2, clock=lambda: t[0])
    assert policy.delay("aggregate") == 1
    t[0] = 30
    assert policy.delay("aggregate") == 2
    t[0] = 70  # the first restart is older than the window now
    assert policy.restarts("aggregate") == 1
    assert policy.delay("aggregate") == 2
