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
import statistics
import struct
import time
from dataclasses import dataclass, field

from bot.diagnoses import PREPARED, Diagnosis, ipv6_only
from bot.integrations.postgres.classify import classify, is_database_error
from bot.integrations.postgres.dsn import Dsn, DsnError, check_dsn
from bot.integrations.postgres.resolver import Resolver
from bot.integrations.postgres.session import DEFAULT, Limits, close, connect, read_only
from bot.results import Verdict

SSL_REQUEST = struct.pack("!ii", 8, 80877103)
MOST_ADDRESSES = 4
ROUND_TRIPS = 5


@dataclass(frozen=True)
class Stage:
    name: str
    verdict: Verdict
    detail: str
    ms: float | None = None


@dataclass
class Probe:
    """What the stages found; `cause` is the failure that stopped them, `flags` what is wrong
    even though they went on."""

    dsn: Dsn | None = None
    stages: list[Stage] = field(default_factory=list)
    cause: Diagnosis | None = None
    flags: list[Diagnosis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server: dict[str, str] = field(default_factory=dict)

    @property
    def headline(self) -> Diagnosis | None:
        """An IPv6-only host is the cause even when the bot's own network could reach it."""
        return self.flags[0] if self.flags else self.cause

    def add(self, name: str, verdict: Verdict, detail: str, started: float | None = None) -> None:
        ms = (time.perf_counter() - started) * 1000 if started is not None else None
        self.stages.append(Stage(name, verdict, detail, ms))

    def fail(self, name: str, cause: Diagnosis, detail: str, started: float) -> Probe:
        self.cause = cause
        self.add(name, Verdict.FAIL, detail, started)
        return self


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
    dialled = await _tcp(found, dsn, addresses, limits)
    if dialled is None or not await _tls(found, dsn, dialled, limits):
        return found
    await _session(found, dsn, dialled, limits)
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
            v4, v6 = await asyncio.gather(
                resolver.addresses(host, dsn.port, socket.AF_INET),
                resolver.addresses(host, dsn.port, socket.AF_INET6),
                return_exceptions=True,
            )
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
        error = v4 if isinstance(v4, BaseException) else v6
        assert isinstance(error, BaseException)
        found.fail("dns", classify(error, dsn.url), detail, started)
        return []
    if not a:
        found.flags.append(ipv6_only(host))
        found.add("dns", Verdict.FAIL, detail + ": IPv6 only, Render cannot reach it", started)
    else:
        found.add("dns", Verdict.OK, detail, started)
    return [*a, *aaaa][:MOST_ADDRESSES]


async def _tcp(found: Probe, dsn: Dsn, addresses: list[str], limits: Limits) -> str | None:
    """Every address at once; the first that answers (IPv4 first, as Render would) is used."""

    async def attempt(address: str) -> tuple[str, float, BaseException | None]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(limits.connect):
                _, writer = await asyncio.open_connection(address, dsn.port)
        except (OSError, TimeoutError) as exc:
            return address, time.perf_counter() - started, exc
        writer.close()
        return address, time.perf_counter() - started, None

    started = time.perf_counter()
    tried = await asyncio.gather(*(attempt(a) for a in addresses))
    detail = "; ".join(
        f"{a} {'open' if e is None else _short(e, limits)} in {s * 1000:.1f} ms"
        for a, s, e in tried
    )
    reached = [a for a, _, e in tried if e is None]
    if reached:
        found.add("tcp", Verdict.OK, f"port {dsn.port}: {detail}", started)
        return reached[0]
    error = tried[0][2]
    assert error is not None
    found.fail(
        "tcp", classify(error, dsn.url, limits.connect), f"port {dsn.port}: {detail}", started
    )
    return None


def _short(exc: BaseException, limits: Limits) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {limits.connect:g} s"
    if isinstance(exc, OSError) and exc.errno:
        return f"errno {exc.errno} {exc.strerror}"
    return str(exc) or type(exc).__name__


async def _tls(found: Probe, dsn: Dsn, address: str, limits: Limits) -> bool:
    """Ask for TLS the way libpq does and report what the server says; a listener that never
    answers is caught here, within the connect timeout, not by asyncpg's 60 s default."""
    started = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(limits.connect):
            reader, writer = await asyncio.open_connection(address, dsn.port)
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
        if writer is not None:
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


async def _session(found: Probe, dsn: Dsn, address: str, limits: Limits) -> None:
    """Login, then read-only reads on the one connection."""
    started = time.perf_counter()
    verify = dsn.sslmode in ("verify-ca", "verify-full")  # certificates name hosts, not addresses
    try:
        con = await connect(dsn.dsn, limits, None if verify else (address, dsn.port))
    except Exception as exc:
        if not is_database_error(exc):
            raise
        found.fail("login", classify(exc, dsn.url, limits.connect), _first(exc), started)
        return
    found.add("login", Verdict.OK, f"as {dsn.url.user}", started)
    stage = "query"
    try:
        async with read_only(con, limits) as ro:
            started = time.perf_counter()
            await ro.fetchval("SELECT 1")
            found.add("query", Verdict.OK, "SELECT 1 in a read-only transaction", started)
            stage, started = "server", time.perf_counter()
            row = await ro.fetchrow(
                "SELECT current_setting('server_version') AS version, current_database() AS db,"
                " current_user AS who, pg_is_in_recovery() AS replica,"
                " pg_backend_pid() AS pid, inet_server_port() AS port"
            )
            assert row is not None
            role = "replica (read-only)" if row["replica"] else "primary"
            found.server = {"version": str(row["version"]), "database": str(row["db"])}
            found.add(
                "server",
                Verdict.OK,
                f"PostgreSQL {row['version']}, database {row['db']} as {row['who']}, {role}",
                started,
            )
            stage = "latency"
            rtts = []
            for _ in range(ROUND_TRIPS):
                started = time.perf_counter()
                await ro.fetchval("SELECT 1")
                rtts.append((time.perf_counter() - started) * 1000)
            median = statistics.median(rtts)
            found.server["round trip"] = f"{median:.1f} ms"
            found.stages.append(
                Stage(
                    "latency",
                    Verdict.OK,
                    f"median of {ROUND_TRIPS} round trips {median:.1f} ms",
                    median,
                )
            )
            _pooler(found, dsn, ro.server_pid, row["pid"], row["port"])
    except Exception as exc:
        if not is_database_error(exc):
            raise
        found.fail(stage, classify(exc, dsn.url, limits.statement), _first(exc), started)
    finally:
        await close(con)


def _pooler(found: Probe, dsn: Dsn, announced: int, backend: int, port: int | None) -> None:
    """A pooler announces its own pid and reaches the server on another port (reference §6);
    the pool mode is not visible from a client, so Supabase's port convention decides it."""
    signs = []
    if announced != backend:
        signs.append(f"announced pid {announced} is not the backend's {backend}")
    if port is not None and port != dsn.port:
        signs.append(f"the server listens on {port}, we dialled {dsn.port}")
    url = dsn.url
    if url.transaction_mode:
        kind = "Supavisor" if url.pooler else "Supabase's PgBouncer"
        verdict, detail = Verdict.INFO, f"{kind}, transaction mode (port 6543)"
        found.notes.append(f"transaction pooling: {PREPARED.hint}")
    elif url.pooler:
        verdict, detail = Verdict.INFO, "Supavisor, session mode (port 5432)"
    elif signs:
        verdict, detail = Verdict.INFO, "a pooler (PgBouncer-like); its pool mode is not visible"
        found.notes.append(
            f"behind a pooler: if it pools per transaction, {PREPARED.hint[0].lower()}"
            f"{PREPARED.hint[1:]}"
        )
    else:
        verdict, detail = Verdict.INFO, "direct to PostgreSQL"
    found.server["pooler"] = detail
    found.add("pooler", verdict, detail + (f": {'; '.join(signs)}" if signs else ""))


def _first(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
