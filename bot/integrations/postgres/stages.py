"""The staged connectivity probe: each stage timed, the first failure named.

URL, DNS (A and AAAA apart: an AAAA-only host is unreachable from Render), TCP to each address,
TLS (the SSLRequest answer and handshake), login, `SELECT 1`, server facts, round trip and
whether a pooler sits in between (reference §6). The stages before login use plain sockets so a
failure says which hop broke, not just that asyncpg could not connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import struct
import time

from bot.diagnoses import Diagnosis, ipv6_only
from bot.integrations.postgres.classify import classify
from bot.integrations.postgres.dsn import Dsn, DsnError, check_dsn
from bot.integrations.postgres.login import login
from bot.integrations.postgres.probe import Dialled, Probe
from bot.integrations.postgres.resolver import Resolver
from bot.integrations.postgres.session import DEFAULT, Limits
from bot.results import Verdict

SSL_REQUEST = struct.pack("!ii", 8, 80877103)
MOST_ADDRESSES = 4


async def probe(raw: str, resolver: Resolver, limits: Limits = DEFAULT) -> Probe:
    """Run the stages in order until one fails."""
    found = Probe()
    started = time.perf_counter()
    try:
        dsn = found.dsn = check_dsn(raw)
    except DsnError as exc:
        return found.fail("url", Diagnosis(exc.message, exc.hint), "malformed", started)
    found.add("url", Verdict.OK, dsn.shown + _sslmode(dsn), started)
    found.notes += dsn.notes
    addresses = await _dns(found, dsn, resolver, limits)
    if not addresses:
        return found
    dialled = await _tcp(found, dsn, addresses, resolver.port(dsn.url.host, dsn.port), limits)
    if dialled is None or not await _tls(found, dsn, dialled, limits):
        return found
    await login(found, dsn, (dialled.address, dialled.port), limits)
    return found


def _sslmode(dsn: Dsn) -> str:
    return f" (sslmode={dsn.sslmode})" if dsn.sslmode else ""


async def _dns(found: Probe, dsn: Dsn, resolver: Resolver, limits: Limits) -> list[str]:
    host = dsn.url.host
    started = time.perf_counter()
    try:
        ipaddress.ip_address(host)
        found.add("dns", Verdict.INFO, f"{host} is an address, nothing to resolve")
        return [host]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(limits.connect):
            v4, v6 = await resolver.families(host, dsn.port)
    except TimeoutError:
        cause = Diagnosis(
            f"DNS did not answer for {host} within {limits.connect:g} s",
            "The resolver is down or unreachable from here; retry, then check the network.",
        )
        found.fail("dns", cause, "no answer", started)
        return []
    a = v4 if isinstance(v4, list) else []
    aaaa = v6 if isinstance(v6, list) else []
    detail = f"A {', '.join(a) or 'none'}; AAAA {', '.join(aaaa) or 'none'}"
    if not a and not aaaa:
        error = next(
            (e for e in (v4, v6) if isinstance(e, BaseException)),
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        )
        found.fail("dns", classify(error, dsn.url), detail, started)
        return []
    if not a:
        found.flags.append(ipv6_only(host))
        found.add("dns", Verdict.FAIL, detail + ": IPv6 only, Render cannot reach it", started)
    else:
        found.add("dns", Verdict.OK, detail, started)
    return [*a, *aaaa][:MOST_ADDRESSES]


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _tcp(
    found: Probe, dsn: Dsn, addresses: list[str], port: int, limits: Limits
) -> Dialled | None:
    """Every address at once; the first that answers (IPv4 first, as Render would) is kept
    open for the TLS stage, the others are closed."""

    async def attempt(address: str) -> tuple[str, float, Streams | BaseException]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(limits.connect):
                streams = await asyncio.open_connection(address, port)
        except (OSError, TimeoutError) as exc:
            return address, time.perf_counter() - started, exc
        return address, time.perf_counter() - started, streams

    started = time.perf_counter()
    tried = await asyncio.gather(*(attempt(a) for a in addresses))
    detail = "; ".join(
        f"{a} {_short(r, limits) if isinstance(r, BaseException) else 'open'} in {s * 1000:.1f} ms"
        for a, s, r in tried
    )
    reached = [Dialled(a, port, *r) for a, _, r in tried if not isinstance(r, BaseException)]
    where = f"port {dsn.port}" + (f" (forwarded to {port})" if port != dsn.port else "")
    for other in reached[1:]:
        other.writer.close()
    if reached:
        found.add("tcp", Verdict.OK, f"{where}: {detail}", started)
        return reached[0]
    error = tried[0][2]
    assert isinstance(error, BaseException)
    found.fail("tcp", classify(error, dsn.url, limits.connect), f"{where}: {detail}", started)
    return None


def _short(exc: BaseException, limits: Limits) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {limits.connect:g} s"
    if isinstance(exc, OSError) and exc.errno:
        return f"errno {exc.errno} {exc.strerror}"
    return str(exc) or type(exc).__name__


async def _tls(found: Probe, dsn: Dsn, dialled: Dialled, limits: Limits) -> bool:
    """Ask for TLS the way libpq does, on the TCP stage's connection, and report what the
    server says; a listener that never answers is caught here, within the connect timeout, not
    by asyncpg's 60 s default."""
    started = time.perf_counter()
    reader, writer = dialled.reader, dialled.writer
    try:
        async with asyncio.timeout(limits.connect):
            writer.write(SSL_REQUEST)
            await writer.drain()
            answer = await reader.readexactly(1)
            if answer != b"S":
                detail = "the server does not offer TLS"
                if dsn.tls_required:
                    cause = classify(ConnectionError("rejected SSL upgrade"), dsn.url)
                    found.fail("tls", cause, detail, started)
                    return False
                found.add("tls", Verdict.INFO, detail, started)
                return True
            await writer.start_tls(_context(dsn), server_hostname=_sni(dsn))
            version = writer.get_extra_info("ssl_object").version()
    except TimeoutError:
        cause = Diagnosis(
            f"{dsn.url.host}:{dsn.port} accepted the connection but did not answer the "
            f"PostgreSQL startup request within {limits.connect:g} s",
            "The port is not a PostgreSQL server or pooler, or the pooler is stuck: check the "
            "port and the pooler's health.",
        )
        found.fail("tls", cause, "no answer to the SSL request", started)
        return False
    except (OSError, asyncio.IncompleteReadError) as exc:
        if isinstance(exc, asyncio.IncompleteReadError):
            exc = ConnectionResetError("closed the connection at the startup request")
        found.fail("tls", classify(exc, dsn.url, limits.connect), _short(exc, limits), started)
        return False
    finally:
        writer.close()
    found.add("tls", Verdict.OK, f"{version} offered", started)
    return True


def _context(dsn: Dsn) -> ssl.SSLContext:
    """Verify only when the URL asks to (verify-ca, verify-full), like libpq."""
    context = ssl.create_default_context()
    if dsn.sslmode not in ("verify-ca", "verify-full"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif dsn.sslmode == "verify-ca":
        context.check_hostname = False
    return context


def _sni(dsn: Dsn) -> str | None:
    try:
        ipaddress.ip_address(dsn.url.host)
        return None
    except ValueError:
        return dsn.url.host
