"""Retention for the durable local broker: which stored batches may go, and a loop that deletes them.

Tansu's S3 engine keeps one object per produced batch and does not implement DeleteRecords, and it lists a
partition's batches on every fetch (measured: ~60 ms a fetch at 100 batches, ~140 ms at 6,000), so without
retention both the disk and the fetch time grow with every post. This deletes whole batches, oldest first:

- never a batch holding a record some consumer group has not committed past (nothing is lost to retention: a
  stalled consumer holds its topic's records, and the lag alert says so), and never the newest batch;
- of the rest, those older than `max_age_s`, and more while the partition holds more than `max_bytes` or more
  than `max_batches` batches.

A topic no group reads (the dead-letter topic) is bounded by age, size and count alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient

from services.common.settings import KafkaSettings
from services.dev.object_store import Filer, StoredObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    max_age_s: float
    max_bytes: int  # per partition
    max_batches: int  # per partition


def base_offset(obj: StoredObject) -> int:
    return int(obj.name.split(".", 1)[0])


def expired(batches: Sequence[StoredObject], committed: int | None, policy: RetentionPolicy,
            now: float) -> list[StoredObject]:
    """The batches of one partition to delete, oldest first. `batches` in offset order; `committed`: the lowest
    offset any group that reads the partition has committed (None when no group reads it)."""
    ordered = sorted(batches, key=base_offset)
    # Batch i holds offsets [base_i, base_{i+1}): done with once every group has committed base_{i+1}.
    deletable = 0
    for i in range(len(ordered) - 1):
        if committed is not None and base_offset(ordered[i + 1]) > committed:
            break
        deletable = i + 1
    size, count, out = sum(b.size for b in ordered), len(ordered), []
    for batch in ordered[:deletable]:
        if now - batch.mtime <= policy.max_age_s and size <= policy.max_bytes and count <= policy.max_batches:
            break
        out.append(batch)
        size, count = size - batch.size, count - 1
    return out


def records_folder(cluster: str, topic: str, partition: int) -> str:
    """Where Tansu's S3 engine keeps a partition's batches."""
    return f"clusters/{cluster}/topics/{topic}/partitions/{partition:0>10}/records"


class BrokerRetention:
    """Applies the policy to every partition of `topics`, every `every_s`, on a daemon thread (a slow pass or a
    broker that is down delays the next pass, never `pulse up`'s supervision)."""

    def __init__(self, filer: Filer, topics: Mapping[str, int], read: Iterable[str],
                 committed: Callable[[], Mapping[tuple[str, int], int]], policy: RetentionPolicy,
                 every_s: float = 30.0, cluster: str = "tansu_cluster", clock: Callable[[], float] = time.time) -> None:
        """`topics`: name → partitions; `read`: the topics consumer groups read (a partition of one that no group
        has committed on yet keeps everything); `committed`: the lowest committed offset per (topic, partition)."""
        self.filer, self.topics, self.read, self.committed, self.policy = filer, topics, set(read), committed, policy
        self.every_s, self.cluster, self.clock = every_s, cluster, clock
        self.deleted = 0
        self._stop = threading.Event()

    def run_once(self) -> int:
        """One pass over every partition; returns how many batches it deleted."""
        lowest = self.committed()
        deleted = 0
        for topic, partitions in self.topics.items():
            for partition in range(partitions):
                folder = records_folder(self.cluster, topic, partition)
                batches = [o for o in self.filer.list(folder) if o.name.endswith(".batch")]
                floor = lowest.get((topic, partition), 0 if topic in self.read else None)
                for batch in expired(batches, floor, self.policy, self.clock()):
                    self.filer.delete(f"{folder}/{batch.name}")
                    deleted += 1
        self.deleted += deleted
        return deleted

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="broker-retention", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                if (n := self.run_once()):
                    log.info("broker retention deleted %d batches (%d in all)", n, self.deleted)
            except Exception as exc:  # the broker or its store is down or restarting: the next pass retries
                log.warning("broker retention pass failed: %s", exc)


def lowest_committed(groups: Iterable[Mapping[tuple[str, int], int]]) -> dict[tuple[str, int], int]:
    """Per (topic, partition), the lowest offset committed by any of the groups."""
    out: dict[tuple[str, int], int] = {}
    for offsets in groups:
        for tp, offset in offsets.items():
            out[tp] = min(offset, out.get(tp, offset))
    return out


def committed_by_groups(kafka: KafkaSettings) -> dict[tuple[str, int], int]:
    """The lowest offset every consumer group of the broker has committed, per (topic, partition)."""
    admin = KafkaAdminClient(**kafka.client_kwargs(), request_timeout_ms=10_000)
    try:
        groups = [g["group_id"] for g in admin.list_groups()]
        by_group = admin.list_group_offsets(groups) if groups else {}
        return lowest_committed({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
                                 if meta.offset >= 0} for offsets in by_group.values())
    finally:
        admin.close()
