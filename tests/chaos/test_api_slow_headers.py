"""The API does not hold a connection whose request headers never complete (slow-loris)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import running_api

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_stalled_headers_get_408_and_others_are_served(redis_url: str, tmp_path: Path) -> None:
    with running_api(redis_url, tmp_path, PULSE_API_HEADER_TIMEOUT_S="1") as (base, _):
        port = int(base.rsplit(":", 1)[1])
        stalled = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(50)]
        try:
            for s in stalled:
                s.sendall(b"GET /v1/pulse HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            assert httpx.get(f"{base}/v1/pulse", params={"window": "1h"}, timeout=10).status_code == 200
            assert all(s.recv(100).startswith(b"HTTP/1.1 408") for s in stalled)
            # A keep-alive connection that stalls in its second request is closed too.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                first = b""
                while not first.endswith(b'{"status":"ok"}'):
                    first += s.recv(1000)
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
                second = s.recv(1000)
            assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 408")
        finally:
            for s in stalled:
                s.close()
