"""How long, and how much, uvicorn waits for a request: the HTTP server (`postmortem serve --transport http`) and the
web view (`postmortem ui`) pass `uvicorn_options()` to uvicorn (docs/deploy.md, Timeouts).

uvicorn has no limit on how long a request's line and headers take to arrive: its keep-alive timer stops at a
connection's first byte and starts again only after a response, so a client sending its headers a byte at a time
kept a connection (and a slot of the proxy in front) forever; with httptools, uvicorn's default parser when it is
installed, their size had no limit either. Here requests are read by uvicorn's h11 protocol, whose
`h11_max_incomplete_event_size` caps the headers' size, with a deadline for the headers added."""

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 10.0  # from a connection's opening (or its previous response) to its request's last header line
KEEP_ALIVE_SECONDS = 5  # an idle connection between requests is closed after this (uvicorn's default, made explicit)
MAX_HEADER_BYTES = 16 * 1024  # a request's line and headers (h11's default, made explicit); larger: 400, closed
_SAID = b"The request's headers took too long to arrive."
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_SAID), _SAID)
)


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol, closing (with 408) a connection whose request line and headers are not all there
    within `seconds` of the connection opening or of the previous response."""

    seconds = HEADER_SECONDS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        self._arm()  # first: the next request may already be buffered, and handle_events then disarms it
        super().on_response_complete()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in (or the connection is done)
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        # still no request (between requests, no response is being written): h11 cannot answer one it has not read
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(TIMED_OUT)
            self.transport.close()


def header_deadline(seconds: float) -> type[HeaderDeadline]:
    """The protocol with another deadline (a test's)."""
    return type("HeaderDeadline", (HeaderDeadline,), {"seconds": seconds})


def uvicorn_options(*, header_seconds: float = HEADER_SECONDS) -> dict[str, Any]:
    """uvicorn's settings for reading requests: the h11 protocol with the header deadline, the keep-alive timeout
    and the headers' size limit."""
    return {
        "http": HeaderDeadline if header_seconds == HEADER_SECONDS else header_deadline(header_seconds),
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
