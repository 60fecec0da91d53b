"""uvicorn's HTTP protocol with the limits it lacks: a request must arrive whole within
REQUEST_SECONDS (slow headers or a slow body are dropped), and past MAX_CONNECTIONS the oldest
connection still sending is dropped for the new one, so slow clients can neither exhaust the
sockets nor keep `/healthz` from answering."""

from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

REQUEST_SECONDS = 10.0
MAX_CONNECTIONS = 500


def guarded(
    request_seconds: float = REQUEST_SECONDS, cap: int = MAX_CONNECTIONS
) -> type[H11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)` with these limits."""

    class Guarded(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _opened = 0.0

        # uvicorn's H11Protocol takes a Transport where asyncio's protocols take any
        # BaseTransport (and ignores that itself): the same signature inherits the mismatch
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._opened = time.monotonic()
            self._arm()
            if len(self.connections) > cap:
                waiting = [c for c in self.connections if isinstance(c, Guarded) and c._sending()]
                oldest = min((c for c in waiting if c is not self), key=lambda c: c._opened,
                             default=None)  # fmt: skip
                if oldest is not None:
                    oldest.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._sending():
                self._disarm()
            elif self._timer is None:
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _sending(self) -> bool:
            """Whether a request is still on its way in (no request yet counts)."""
            # uvicorn declares `cycle` a cycle, yet it is None until the first request
            cycle: RequestResponseCycle | None = self.cycle
            return cycle is None or cycle.more_body or cycle.response_complete

        def _arm(self) -> None:
            self._timer = self.loop.call_later(request_seconds, self._expire)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self) -> None:
            self._timer = None
            if self._sending() and not self.transport.is_closing():
                self.transport.close()

    return Guarded
