"""The operations port of a worker (infer, aggregate): /metrics, /healthz and /readyz on one small HTTP server.

Kubernetes probes and Prometheus both read it. The server runs on a daemon thread, so it answers even while the
worker's own loop is busy; that is why liveness is a heartbeat the loop must keep beating, not "the port answers".
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.common.metrics import exposition

log = logging.getLogger(__name__)


class Probe:
    """Liveness: the worker's loop beat within `stale_after_s` (a wedged loop gets the pod restarted).
    Readiness: live, the worker said it is ready (model loaded), and every added check passes (the broker answers,
    counting makes progress)."""

    def __init__(self, stale_after_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after_s, self.clock = stale_after_s, clock
        self._last_beat: float | None = None
        self._ready, self._why = False, "starting"
        self._checks: list[Callable[[], tuple[bool, str]]] = []
        self._lock = threading.Lock()

    def add_check(self, check: Callable[[], tuple[bool, str]]) -> None:
        """A readiness condition: (ok, why). Called on the probe's thread, so it must be quick and thread-safe."""
        self._checks.append(check)

    def beat(self) -> None:
        with self._lock:
            self._last_beat = self.clock()

    def set_ready(self, ready: bool, why: str = "") -> None:
        with self._lock:
            self._ready, self._why = ready, why or ("ready" if ready else "not ready")

    def liveness(self) -> tuple[bool, str]:
        with self._lock:
            if self._last_beat is None:
                return True, "starting"  # the startup probe's budget covers model loading and the group join
            age = self.clock() - self._last_beat
        if age > self.stale_after_s:
            return False, f"main loop silent for {age:.0f} s (limit {self.stale_after_s:.0f} s)"
        return True, "ok"

    def readiness(self) -> tuple[bool, str]:
        live, why = self.liveness()
        if not live:
            return False, why
        with self._lock:
            ready, why = self._ready, self._why
        if not ready:
            return False, why
        for check in self._checks:
            ok, detail = check()
            if not ok:
                return False, detail
        return True, why


def _handler(probe: Probe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, *exposition())
            elif path in ("/healthz", "/readyz"):
                ok, why = probe.liveness() if path == "/healthz" else probe.readiness()
                body = json.dumps({"status": "ok" if ok else "unavailable", "detail": why}).encode()
                self._send(200 if ok else 503, body, "application/json")
            else:
                body = json.dumps({"detail": f"no such path {path!r}: try /metrics, /healthz or /readyz"}).encode()
                self._send(404, body, "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # probes every few seconds would drown the worker's own log

    return Handler


def serve_ops(host: str, port: int, probe: Probe) -> ThreadingHTTPServer:
    """Start the operations server on a daemon thread; returns it so tests can shut it down."""
    server = ThreadingHTTPServer((host, port), _handler(probe))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="ops-server", daemon=True).start()
    log.info("metrics and probes on http://%s:%d (/metrics /healthz /readyz)", host, server.server_address[1])
    return server
