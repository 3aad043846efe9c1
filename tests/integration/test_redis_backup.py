"""The production Redis backup and its restore drill, run as the CronJob and the restore Job run them
(deploy/k8s/overlays/production/backup/redis-backup.sh), against a real redis-server with a password and a real
S3 store (SeaweedFS): counts written by the aggregator's own store come back exactly, from the AOF."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio as aioredis

from services.aggregate.redis_store import CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.dev.object_store import StorePorts, start_object_store
from services.dev.servers import free_port, redis_server_binary, start_redis
from tests.integration.test_api import scored

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "k8s" / "overlays" / "production" / "backup" / "redis-backup.sh"
RCLONE = shutil.which("rclone")
PASSWORD = "a-long-test-password-7f3c"


def run(step: str, env: dict[str, str]) -> str:
    out = subprocess.run(["sh", str(SCRIPT), step], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"{step}: {out.stderr[-2000:]}"
    assert PASSWORD not in out.stdout + out.stderr  # the password never shows
    return out.stdout


def contents(client: redis.Redis) -> dict[bytes, object]:
    """Every key with its value and whether it expires (hashes, lists, sets, sorted sets, strings)."""
    out: dict[bytes, object] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        value = {b"hash": client.hgetall, b"list": lambda k: client.lrange(k, 0, -1), b"set": client.smembers,
                 b"zset": lambda k: client.zrange(k, 0, -1, withscores=True), b"string": client.get}[kind](key)
        out[key] = (kind, value, client.ttl(key) > 0)
    return out


@pytest.mark.skipif(RCLONE is None, reason="rclone is needed (make test installs Debian's rclone as root)")
def test_a_backup_in_object_storage_restores_every_count_exactly(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # the two images' tools: redis-cli and redis-server beside each other, and rclone
    bin_dir.mkdir()
    server = Path(redis_server_binary())
    for tool in ("redis-server", "redis-cli"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or server.parent / tool)
    live = start_redis(port=free_port(), data_dir=tmp_path / "live", log_dir=tmp_path / "logs")
    ports, _ = StorePorts.pick()
    store = start_object_store(tmp_path / "objects", ports, tmp_path / "logs")
    restored = None
    try:
        with redis.Redis.from_url(live.address) as client:
            client.config_set("requirepass", PASSWORD)
        url = live.address.replace("redis://", f"redis://:{PASSWORD}@")

        async def count() -> None:  # counts as the aggregator writes them: hashes, sets, lists, TTLs
            client = aioredis.from_url(url)
            try:
                writer = CountStore(client, KeyLayout("pulse"), Retention.of(AggregateSettings()), "pulse:updates")
                now = time.time()
                await writer.count([writer.prepare(scored(i, "Joe Biden", "Democrats", "FAVOR"), now, now)
                                    for i in range(40)])
            finally:
                await client.aclose()

        asyncio.run(count())
        with redis.Redis.from_url(url) as client:
            before = contents(client)
        assert len(before) > 10

        address = urlsplit(live.address)
        env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "REDIS_HOST": str(address.hostname),
               "REDIS_PORT": str(address.port), "REDISCLI_AUTH": PASSWORD, "WORK": str(tmp_path),
               "DATA": str(tmp_path / "restore"), "BACKUP_PATH": "pulse-backups/redis",
               "RCLONE_CONFIG_BACKUP_TYPE": "s3", "RCLONE_CONFIG_BACKUP_PROVIDER": "Other",
               "RCLONE_CONFIG_BACKUP_ENDPOINT": store.address, "RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID": "any",
               "RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY": "any", "REBUILD_PORT": str(free_port())}
        subprocess.run([RCLONE, "mkdir", "backup:pulse-backups"], env=env, check=True, timeout=60)
        run("dump", env)
        assert "uploaded redis-" in run("upload", env)
        (tmp_path / "restore").mkdir()
        assert "restored redis-" in run("download", env)
        assert f"{len(before)} keys" in run("rebuild-aof", env)

        # Redis started as the StatefulSet starts it (appendonly yes) comes up with every key, from the AOF
        restored = start_redis(port=free_port(), data_dir=tmp_path / "restore", log_dir=tmp_path / "logs")
        with redis.Redis.from_url(restored.address) as client:
            assert client.config_get("appendonly") == {"appendonly": "yes"}
            assert contents(client) == before
    finally:
        for process in (restored, live, store):
            if process is not None:
                process.stop()
