"""Where a live source's cursor is kept between runs: one Redis key per source.

The key holds a plain integer (the source's position). Saving is best effort: a failed save only means a restart
resumes from an older position, which re-reads posts the pipeline already counts once (ids deduplicate
downstream), so it is logged and counted, never fatal.
"""

from __future__ import annotations

import logging

from services.common.redis_clients import SyncClient

log = logging.getLogger(__name__)


class CheckpointStore:
    def __init__(self, client: SyncClient, key_prefix: str) -> None:
        self.client, self.key_prefix = client, key_prefix

    def key(self, source: str) -> str:
        return f"{self.key_prefix}:ingest:cursor:{source}"

    def load(self, source: str) -> int | None:
        value = self.client.get(self.key(source))
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            log.error("checkpoint %s holds %r, not a position: starting live", self.key(source), value[:40])
            return None

    def save(self, source: str, position: int) -> None:
        self.client.set(self.key(source), str(position))
