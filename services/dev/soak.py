"""`pulse soak`: a compressed election day through `pulse up`, with every process's memory watched.

Replays `--posts` posts (the bundled sample over and over, each pass with its own ids) at `--rate` through a
fresh `pulse up`, samples the resident memory of every process it runs (broker, object store and Redis included),
the broker's disk and what has been counted, and ends when the counts are exact (or `--timeout`). Writes
soak.csv, soak.png (memory against posts counted) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from services.common.routing import Router
from services.dev.servers import free_port, stop_process, wait_for_port
from services.dev.up import sample_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--posts", type=int, default=1_000_000, help="posts to replay (rounded up to whole passes)")
    p.add_argument("--rate", type=float, default=500.0, help="posts per second")
    p.add_argument("--var", default="var/soak", help="pulse up's folder (emptied first)")
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds (0: 3× the replay)")
    p.add_argument("--out", default="", help="folder for soak.csv and soak.png (default: --var)")
    p.add_argument("--set", action="append", default=[], metavar="PULSE_NAME=VALUE",
                   help="a setting for the stack (repeatable; the caller's own PULSE_* variables are not passed on)")


def expected_pairs(lines: list[str], passes: int) -> Counter[str]:
    """Per target, the (post, target) pairs the pipeline must end with: the sample's routes × passes. Pairs, not
    labels: the int8 graph quantises activations per batch, so a label near the boundary may differ with its
    batch-mates; what must be exact is that every pair is counted once."""
    router = Router.load()
    return Counter({target: n * passes for target, n in
                    Counter(r.target for line in lines for r in router.route(json.loads(line)["text"])).items()})


@dataclass(frozen=True)
class LocalStack:
    proc: subprocess.Popen[bytes]
    port: int  # the API's
    metrics: dict[str, int]  # service → its metrics port


def launch_up(replay: Path, rate: float, var: Path, settings: list[str]) -> LocalStack:
    """A fresh `pulse up` replaying `replay` once at `rate` (0: flat out), every port its own, with `settings`
    (PULSE_NAME=VALUE) and none of the caller's own PULSE_* variables; its output in var/up.log."""
    port = free_port()
    metrics = {service: free_port() for service in ("ingest", "infer", "aggregate", "api")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update({f"PULSE_{service.upper()}_METRICS_PORT": str(p) for service, p in metrics.items()})
    env.update(dict(setting.split("=", 1) for setting in settings))
    with open(var / "up.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--replay", str(replay), "--once",
                                 "--rate", str(rate), "--port", str(port), "--var", str(var)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    return LocalStack(proc, port, metrics)


def write_replay(path: Path, posts: int) -> tuple[Path, Counter[str], int]:
    """The bundled sample over and over (each pass with its own ids) until at least `posts` posts; returns the
    file, the pairs per target the pipeline must end with, and how many posts were written."""
    lines = sample_file().read_text().splitlines()
    passes = -(-posts // len(lines))
    with path.open("w") as fh:
        for k in range(passes):
            for line in lines:
                record = json.loads(line)
                fh.write(json.dumps({**record, "id": f"s{k}-{record['id']}"}) + "\n")
    return path, expected_pairs(lines, passes), passes * len(lines)


def counted(port: int) -> Counter[str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/pulse?window=all", timeout=5) as r:
            snap = json.load(r)
    except OSError:
        return None  # the API is restarting
    return Counter({target: c["total"] + c["unrated"] for target, c in snap["targets"].items()
                    if c["total"] + c["unrated"]})


def rss_mb(var: Path) -> dict[str, float]:
    """Resident memory of every process pulse up started, from its pid file."""
    out: dict[str, float] = {}
    for pid_file in sorted((var / "run").glob("*.pid")):
        try:
            status = Path(f"/proc/{int(pid_file.read_text())}/status").read_text()
        except (OSError, ValueError):
            continue
        kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), None)
        if kb is not None:
            out[pid_file.stem] = kb / 1024
    return out


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a running process has used so far, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_seconds(var: Path) -> dict[str, float]:
    """CPU time each process pulse up started has used so far, from its pid file."""
    out: dict[str, float] = {}
    for pid_file in sorted((var / "run").glob("*.pid")):
        try:
            out[pid_file.stem] = process_cpu_seconds(int(pid_file.read_text()))
        except (OSError, ValueError):
            continue
    return out


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def run(args: argparse.Namespace) -> int:
    var = Path(args.var).resolve()
    subprocess.run(["rm", "-rf", str(var)], check=True)
    var.mkdir(parents=True)
    out_dir = Path(args.out or var)
    out_dir.mkdir(parents=True, exist_ok=True)
    replay, want, posts = write_replay(var / "soak.jsonl", args.posts)
    total = sum(want.values())
    stack = launch_up(replay, args.rate, var, args.set)
    up, port = stack.proc, stack.port
    rows: list[dict[str, float]] = []
    started = time.monotonic()
    timeout = args.timeout or 3 * posts / args.rate + 300
    exact = False
    try:
        wait_for_port(port, timeout=120, proc=up)
        bar = tqdm(total=total, unit="pair", desc="counted")
        while time.monotonic() - started < timeout and up.poll() is None:
            time.sleep(args.every)
            got = counted(port)
            if got is None:
                continue
            n = sum(got.values())
            rows.append({"seconds": round(time.monotonic() - started, 1), "counted": n,
                         "broker_disk_mb": round(disk_mb(var / "broker"), 1),
                         **{f"{k}_mb": round(v, 1) for k, v in rss_mb(var).items()}})
            bar.update(n - bar.n)
            if got == want:
                exact = True
                break
        bar.close()
    except KeyboardInterrupt:  # stopped early: what was sampled is still reported
        pass
    finally:
        stop_process(up, signal.SIGINT, 60)
        write_outputs(rows, out_dir, args, posts, total, exact, time.monotonic() - started)
    return 0 if exact else 1


def write_outputs(rows: list[dict[str, float]], out_dir: Path, args: argparse.Namespace, posts: int, total: int,
                  exact: bool, seconds: float) -> None:
    if not rows:
        print("no samples taken (see the var folder's up.log)")  # noqa: T201 (a command's output)
        return
    fields = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("seconds", "counted"), k))
    with (out_dir / "soak.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    series = [f for f in fields if f.endswith("_mb")]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 5))
        for name in series:
            ax.plot([r["counted"] for r in rows], [r.get(name, float("nan")) for r in rows], label=name[:-3])
        ax.set_xlabel("(post, target) pairs counted")
        ax.set_ylabel("MB (resident; broker_disk: on disk)")
        ax.set_title(f"pulse soak: {posts:,} posts at {args.rate:g}/s")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "soak.png", dpi=100)
    except ImportError:
        pass  # the plot needs matplotlib (the train extra); the CSV and the table do not
    tenth = rows[max(0, len(rows) // 10 - 1)]
    settings = "".join(f" --set {s}" for s in args.set)
    outcome = (f"exact after {seconds:.0f} s ({posts / seconds:.0f} posts/s)" if exact else
               f"stopped after {seconds:.0f} s with {rows[-1]['counted']:,.0f} of {total:,} pairs counted")
    print(f"`pulse soak --posts {args.posts} --rate {args.rate:g}{settings}`: {posts:,} posts, {total:,} pairs, "  # noqa: T201
          f"{outcome}\n")
    print("| process | MB at 10% | MB at end | max MB |\n|---|---:|---:|---:|")  # noqa: T201
    for name in series:
        values = [r[name] for r in rows if name in r]
        print(f"| {name[:-3]} | {tenth.get(name, float('nan')):.0f} | {rows[-1].get(name, float('nan')):.0f} | "  # noqa: T201
              f"{max(values):.0f} |")
