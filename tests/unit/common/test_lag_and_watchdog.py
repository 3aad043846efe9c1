from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from services.common.lag import GroupLagMonitor, partition_lag
from services.common.ops import Probe
from services.common.settings import KafkaSettings
from services.common.watchdog import ProgressWatchdog


def test_lag_is_end_minus_committed_and_counts_an_uncommitted_partition_from_its_start() -> None:
    assert partition_lag({0: 100, 1: 50, 2: 7}, committed={0: 40, 1: 50}, starts={2: 2}) == {0: 60, 1: 0, 2: 5}
    assert partition_lag({0: 10}, committed={0: 12}, starts={}) == {0: 0}  # never negative


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_backlog_without_finished_batches_is_a_stall_and_progress_clears_it() -> None:
    clock = Clock()
    dog = ProgressWatchdog(stall_after_s=10, clock=clock)
    clock.t += 3600  # a quiet hour: nothing waiting is not a stall
    assert dog.check()[0]
    dog.backlog(500)  # work arrives: the allowance starts now, not at the last batch an hour ago
    clock.t += 9
    assert dog.check()[0]
    clock.t += 2
    ok, why = dog.check()
    assert not ok and "500 records waiting" in why and "11 s" in why
    dog.progressed()
    assert dog.check()[0]
    dog.backlog(0)
    clock.t += 100
    assert dog.check() == (True, "nothing waiting")


def test_readiness_needs_every_check_and_says_which_failed() -> None:
    probe = Probe()
    probe.beat()
    broker = [True]
    probe.add_check(lambda: (broker[0], "broker unreachable: KafkaConnectionError"))
    assert probe.readiness() == (False, "starting")  # the worker itself is not ready yet
    probe.set_ready(True, "model loaded")
    assert probe.readiness() == (True, "model loaded")
    broker[0] = False
    assert probe.readiness() == (False, "broker unreachable: KafkaConnectionError")
    assert probe.liveness() == (True, "ok")  # a dead broker is no reason to restart the worker


def test_a_pass_that_hangs_turns_readiness_false_once_the_broker_is_silent_too_long() -> None:
    clock = Clock()
    gauge = Gauge("lag", "lag", ["partition"], registry=CollectorRegistry())
    monitor = GroupLagMonitor(KafkaSettings(), "g", "t", gauge, every_s=2.0, clock=clock)
    assert monitor.check() == (False, "no round trip to the broker yet")
    monitor.record(None)
    assert monitor.check() == (True, "broker answers")
    clock.t += monitor.stale_after_s  # the next pass has not come back, but not for long
    assert monitor.check()[0]
    clock.t += 1  # it hangs (a dead node kafka-python waits on): no pass says so, the silence does
    ok, why = monitor.check()
    assert not ok and why == f"broker unanswered for {monitor.stale_after_s + 1:.0f} s"
    monitor.record(ConnectionError("refused"))
    assert monitor.check() == (False, "broker unreachable: ConnectionError")
    monitor.record(None)
    assert monitor.check() == (True, "broker answers")
