from __future__ import annotations

from services.dev.object_store import StoredObject, StorePorts, _unix
from services.dev.retention import RetentionPolicy, expired, lowest_committed

NOW = 10_000.0
LOOSE = RetentionPolicy(max_age_s=3600, max_bytes=10**9, max_batches=10**6)


def batches(*specs: tuple[int, float], size: int = 100) -> list[StoredObject]:
    """(base offset, age in seconds) → the stored batch."""
    return [StoredObject(f"{base:020d}.batch", size, NOW - age) for base, age in specs]


def names(objs: list[StoredObject]) -> list[int]:
    return [int(o.name[:20]) for o in objs]


def test_only_batches_every_group_has_committed_past_may_go_by_age() -> None:
    stored = batches((0, 7200), (50, 7200), (100, 7200), (150, 7200))
    # [0, 50) and [50, 100) are consumed; [100, 150) is not wholly (committed 120); the newest never goes
    assert names(expired(stored, committed=120, policy=LOOSE, now=NOW)) == [0, 50]
    assert names(expired(stored, committed=100, policy=LOOSE, now=NOW)) == [0, 50]
    assert names(expired(stored, committed=99, policy=LOOSE, now=NOW)) == [0]
    assert expired(stored, committed=0, policy=LOOSE, now=NOW) == []
    assert names(expired(stored, committed=10**9, policy=LOOSE, now=NOW)) == [0, 50, 100]  # never the newest


def test_young_consumed_batches_stay_until_a_bound_is_passed() -> None:
    stored = batches((0, 10), (50, 10), (100, 10), (150, 10), (200, 10))
    assert expired(stored, committed=200, policy=LOOSE, now=NOW) == []
    by_count = RetentionPolicy(max_age_s=3600, max_bytes=10**9, max_batches=3)
    assert names(expired(stored, committed=200, policy=by_count, now=NOW)) == [0, 50]
    by_size = RetentionPolicy(max_age_s=3600, max_bytes=250, max_batches=10**6)
    assert names(expired(stored, committed=200, policy=by_size, now=NOW)) == [0, 50, 100]
    # a bound never deletes what a group still has to read
    assert names(expired(stored, committed=60, policy=by_size, now=NOW)) == [0]


def test_a_topic_no_group_reads_is_bounded_by_age_size_and_count_alone() -> None:
    stored = batches((0, 7200), (50, 7200), (100, 5), (150, 5))
    assert names(expired(stored, committed=None, policy=LOOSE, now=NOW)) == [0, 50]


def test_batches_are_taken_in_offset_order_whatever_order_they_are_listed_in() -> None:
    stored = batches((100, 7200), (0, 7200), (50, 7200), (150, 7200))
    assert names(expired(stored, committed=100, policy=LOOSE, now=NOW)) == [0, 50]


def test_lowest_committed_takes_the_slowest_group_per_partition() -> None:
    groups = [{("raw", 0): 10, ("raw", 1): 5}, {("raw", 0): 3}, {("scored", 0): 7}]
    assert lowest_committed(groups) == {("raw", 0): 3, ("raw", 1): 5, ("scored", 0): 7}


def test_every_store_port_is_explicit_so_stacks_never_collide() -> None:
    flags = StorePorts(1, 2, 3, 4, 5, 6, 7, 8).flags()
    assert flags == ["-master.port=1", "-master.port.grpc=2", "-volume.port=3", "-volume.port.grpc=4",
                     "-filer.port=5", "-filer.port.grpc=6", "-s3.port=7", "-s3.port.grpc=8"]


def test_filer_times_with_nanoseconds_read_as_unix_seconds() -> None:
    assert _unix("2026-12-07T01:41:09.413728624Z") == _unix("2026-12-07T01:41:09Z") + 0.413728
    assert _unix("2026-12-07T01:41:09+00:00") == 1796607669.0
