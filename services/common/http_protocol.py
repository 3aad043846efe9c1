"""uvicorn's HTTP/1.1 protocol with a deadline for request headers.

uvicorn times out idle keep-alive connections, but not a client that sends part of its headers and stops: such a
connection is held for as long as the client likes (the slow-loris attack; a few hundred of them exhaust the
connection limit). Here a request's headers must be complete within `header_timeout_s` of the connection opening
or of the previous response; otherwise the client gets 408 and the connection is closed. Bodies are timed by the
application (the ingest source's read timeout).
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class H11WithHeaderDeadline(H11Protocol):
    header_timeout_s = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()


def with_header_deadline(seconds: float) -> type[H11WithHeaderDeadline]:
    """The protocol class to pass as uvicorn's `http=`, with its header deadline."""
    return type("H11WithHeaderDeadline", (H11WithHeaderDeadline,), {"header_timeout_s": seconds})
