"""The probe's stages after the socket checks: login, then reads on the one connection
(`SELECT 1`, server facts, round trips) and whether a pooler sits in between (reference §6)."""

from __future__ import annotations

import statistics
import time

from bot.diagnoses import PREPARED
from bot.integrations.postgres.classify import classify, is_database_error
from bot.integrations.postgres.dsn import Dsn
from bot.integrations.postgres.probe import Probe, Stage
from bot.integrations.postgres.session import Limits, close, connect, read_only
from bot.results import Verdict

ROUND_TRIPS = 5


async def login(found: Probe, dsn: Dsn, address: tuple[str, int], limits: Limits) -> None:
    """Login, then read-only reads on the one connection."""
    started = time.perf_counter()
    verify = dsn.sslmode in ("verify-ca", "verify-full")  # certificates name hosts, not addresses
    try:
        con = await connect(dsn.dsn, limits, None if verify else address)
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
            _pooler(found, dsn, ro.server_pid, row["pid"], row["port"], address[1])
    except Exception as exc:
        if not is_database_error(exc):
            raise
        found.fail(stage, classify(exc, dsn.url, limits.statement), _first(exc), started)
    finally:
        await close(con)


def _pooler(
    found: Probe, dsn: Dsn, announced: int, backend: int, port: int | None, dialled: int
) -> None:
    """A pooler announces its own pid and reaches the server on another port (reference §6);
    the pool mode is not visible from a client, so Supabase's port convention decides it."""
    signs = []
    if announced != backend:
        signs.append(f"announced pid {announced} is not the backend's {backend}")
    if port is not None and port != dialled:
        signs.append(f"the server listens on {port}, we dialled {dialled}")
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
