"""The pipeline over TLS, with the CA it is given (as with Strimzi's self-signed cluster CA).

Tansu's own TLS does not start from its command line, so a TLS-terminating proxy stands in front of it: the broker
advertises the proxy's port, and every client (kafka-python in ingest and infer, aiokafka under faust in aggregate)
speaks TLS to the proxy and verifies its certificate against the test's CA.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle
from services.common.settings import KafkaSettings
from services.dev.servers import free_port, start_broker, wait_for_port
from tests.integration.harness import Pipeline, assert_exact, expected_counts, sample, write_jsonl

pytestmark = pytest.mark.integration
OPENSSL = shutil.which("openssl")


def make_certs(d: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 signed by it: (ca.pem, server.pem, server.key)."""
    def run(*args: str) -> None:
        assert OPENSSL is not None
        subprocess.run([OPENSSL, *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=pulse-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=broker")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.cnf")
    return d / "ca.pem", d / "server.pem", d / "server.key"


class TlsProxy:
    """Accepts TLS on `port` and forwards the plain bytes to 127.0.0.1:`target`."""

    def __init__(self, port: int, target: int, cert: Path, key: Path) -> None:
        self.port, self.target, self.connections = port, target, 0
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(self._pipe(client_r, broker_w), self._pipe(broker_r, client_w))

    def start(self) -> None:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.ctx), self.loop).result(10)
        wait_for_port(self.port)

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:  # the connections' pipes
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[str, Path, TlsProxy]]:
    ca, cert, key = make_certs(tmp_path)
    tls_port = free_port()
    broker = start_broker(log_dir=tmp_path / "kafka", advertised_port=tls_port)
    proxy = TlsProxy(tls_port, int(broker.address.rsplit(":", 1)[1]), cert, key)
    proxy.start()
    try:
        yield f"127.0.0.1:{tls_port}", ca, proxy
    finally:
        proxy.stop()
        broker.stop()


@pytest.mark.skipif(OPENSSL is None, reason="no openssl binary to make the test certificates")
# kafka-python leaves the sockets of refused handshakes for the garbage collector; collected here, in this test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_pipeline_counts_exactly_over_tls(tls_broker: tuple[str, Path, TlsProxy], redis_url: str,
                                              fixture_bundle: Bundle, tmp_path: Path) -> None:
    bootstrap, ca, proxy = tls_broker
    pipeline = Pipeline(bootstrap, redis_url, fixture_bundle, tmp_path, PULSE_KAFKA_SECURITY_PROTOCOL="SSL",
                        PULSE_KAFKA_SSL_CAFILE=str(ca))
    try:
        records = sample(60)
        expected = expected_counts(fixture_bundle, records)
        pipeline.start_all()
        pipeline.ingest(write_jsonl(tmp_path / "tweets.jsonl", records))
        assert_exact(pipeline.wait_for_counts(expected), expected)
        assert proxy.connections >= 3  # ingest, infer and aggregate all came through TLS
    finally:
        pipeline.stop()

    # The context the settings build trusts the broker with the CA, and not without it.
    host, port = bootstrap.rsplit(":", 1)
    for cafile, trusted in ((str(ca), True), (None, False)):
        ctx = KafkaSettings(bootstrap=bootstrap, security_protocol="SSL", ssl_cafile=cafile).ssl_context()
        assert ctx is not None
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            if trusted:
                ctx.wrap_socket(raw, server_hostname=host).close()
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    ctx.wrap_socket(raw, server_hostname=host)
    gc.collect()
