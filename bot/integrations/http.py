"""HTTP health checks the way Render judges them: 2xx or 3xx within 5 s (reference §8), with
DNS, TLS, refused and timeout failures named."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass

import httpx

from bot.integrations.loops import PerLoop, tls

TIMEOUT = 5.0


@dataclass(frozen=True)
class Health:
    url: str
    status: int | None
    ms: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    def describe(self) -> str:
        if self.error:
            return f"{self.error} ({self.url})"
        return f"HTTP {self.status} in {self.ms:.0f} ms"


class HealthProbe:
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._clients = PerLoop(
            lambda: httpx.AsyncClient(
                timeout=timeout,
                verify=tls(),
                follow_redirects=False,
                headers={"User-Agent": "fracas health check"},
            )
        )

    async def check(self, url: str) -> Health:
        """One GET, bounded as a whole (httpx's timeout is per read, not per request)."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._clients.get().get(url)
        except (TimeoutError, httpx.TimeoutException):
            return Health(url, None, _ms(start), f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Health(url, None, _ms(start), _reason(exc))
        return Health(url, response.status_code, _ms(start))

    async def aclose(self) -> None:
        await self._clients.aclose()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _reason(exc: BaseException) -> str:
    """The root cause in an engineer's words, from the chain httpx wraps around it."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return f"DNS: the host name does not resolve ({cause.strerror})"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: certificate not trusted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS: handshake failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused: nothing listens on that port"
    text = str(exc)
    if "getaddrinfo" in text or "Name or service not known" in text:
        return f"DNS: the host name does not resolve ({text})"
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return f"TLS: {text}"
    return f"{type(exc).__name__}: {text or 'no detail'}"
