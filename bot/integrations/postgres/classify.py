"""From an exception to a cause and a fix, per reference/postgres-failures.md §4.

asyncpg's class and SQLSTATE decide first; the poolers use catch-all codes (PgBouncer 08P01,
Supavisor XX000), so their errors are told apart by text. What the URL says (Supabase direct
host, pooler, port) turns a bare errno into the incident's real cause.
"""

from __future__ import annotations

import re
import socket
import ssl

import asyncpg
from asyncpg import exceptions as pg

from bot.integrations.supabase import DbUrl
from bot.patterns import Diagnosis

UNREACHABLE = (101, 113, 99)  # ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL

IPV6_ONLY = Diagnosis(
    "the database host has only an IPv6 address, and Render has no outbound IPv6",
    "Use Supabase's Supavisor pooler URL instead (user postgres.<ref>, host "
    "aws-0-<region>.pooler.supabase.com, port 5432 session or 6543 transaction), or buy the "
    "IPv4 add-on for the direct host.",
)
PREPARED = Diagnosis(
    "prepared statements through a transaction-mode pooler",
    "Create asyncpg connections and pools with statement_cache_size=0 and do not call "
    "prepare(), or connect through the session pooler (port 5432).",
)
SCRAM = Diagnosis(
    "the pooler rejected the credentials during SCRAM (asyncpg shows Supavisor's 'Wrong "
    "password' as 'NoneType' object has no attribute 'group')",
    "Check the password (URL-encoded) and that the user is postgres.<project-ref>; a password "
    "rotated minutes ago may still be cached by Supavisor.",
)

# Pooler errors arrive under catch-all codes; the words are what tells them apart.
_POOLER_TEXT = [
    (
        r"tenant or user not found|ENOTFOUND",
        "the pooler does not know this user or project",
        "On Supavisor the user must be postgres.<project-ref>, and the host the region of the "
        "project (copy both from Supabase's Connect panel).",
    ),
    (
        r"max clients reached in session mode|MaxClientsInSessionMode|EMAXCONNSESSION",
        "the session pooler is full: clients are limited to its pool_size",
        "Use transaction mode (port 6543) for many short connections, or raise the pool size.",
    ),
    (
        r"max client connections|no more connections allowed|EMAXCONN",
        "the pooler's client connection limit is reached",
        "Find who holds connections (a leaking pool, too many workers); raise the limit only "
        "after that.",
    ),
    (
        r"unable to check out connection|ECHECKOUTTIMEOUT|query_wait_timeout",
        "the pooler is saturated: no server connection came free in time",
        "Look for long transactions holding pool connections (stuck jobs, idle in transaction).",
    ),
    (
        r"SSL connection is required",
        "the server requires SSL and the client connected without it",
        "Remove sslmode=disable (or ssl=False) from the URL or the connect call.",
    ),
    (
        r"SASL authentication failed",
        "PgBouncer rejected the login: wrong password, or a user it does not know",
        "Check the password (URL-encoded) and that the user is in PgBouncer's auth_file.",
    ),
    (
        r"no such database",
        "the pooler has no such database",
        "Use a database name the pooler lists (Supabase: postgres).",
    ),
    (
        r"unsupported startup parameter",
        "the pooler refuses a connection setting the client sends at startup",
        "Drop server_settings such as statement_timeout from the connect call (set them with "
        "SET LOCAL inside a transaction), or list them in ignore_startup_parameters.",
    ),
]
_POOLER = [(re.compile(p, re.IGNORECASE), Diagnosis(c, f)) for p, c, f in _POOLER_TEXT]


def classify(exc: BaseException, url: DbUrl | None = None, timeout: float = 5.0) -> Diagnosis:
    """The cause, named as an on-call engineer would say it, and what to do."""
    text = str(exc)
    host = f"{url.host}:{url.port or 5432}" if url else "the database"
    user = url.user if url else "the user"
    if isinstance(exc, pg.InternalClientError) and "no attribute 'group'" in text:
        return SCRAM
    if isinstance(exc, pg.PostgresError):
        return _server(exc, text, url, user)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Diagnosis(
            f"the certificate of {host} is not trusted ({exc.verify_message})",
            "Give the client the provider's CA (Supabase: prod-ca-2021.crt), or use "
            "sslmode=require, which encrypts without verifying.",
        )
    if isinstance(exc, TimeoutError):
        return Diagnosis(
            f"{host} did not answer within {timeout:g} s",
            "A firewall or an unroutable address swallows the packets, or the server or pooler "
            "is overloaded; try the same URL from another network.",
        )
    if isinstance(exc, socket.gaierror):
        if url and url.direct:
            return IPV6_ONLY
        return Diagnosis(
            f"the host {url.host if url else ''} does not resolve ({exc.strerror})",
            "Check the host name for typos; a deleted or paused project loses its name.",
        )
    if isinstance(exc, ConnectionRefusedError):
        return Diagnosis(
            f"nothing listens on {host} (connection refused)",
            "Check the port (Postgres 5432, Supavisor 5432 or 6543, PgBouncer 6432) and that "
            "the server is up.",
        )
    if isinstance(exc, OSError) and (
        exc.errno in UNREACHABLE or "unreachable" in text.lower() or "no route" in text.lower()
    ):
        if url and url.direct:
            return IPV6_ONLY
        return Diagnosis(
            f"no network route to {host} (errno {exc.errno})",
            "The address is not reachable from here: an IPv6 address from an IPv4-only "
            "platform such as Render, or a private network address.",
        )
    if isinstance(exc, ConnectionError) and "rejected SSL upgrade" in text:
        return Diagnosis(
            f"the URL requires SSL but {host} does not offer it",
            "Use sslmode=prefer (or remove sslmode) for a pooler without TLS, or turn TLS on.",
        )
    if isinstance(exc, pg.InterfaceError):
        return Diagnosis(f"the connection was lost ({text})", "Run the check again.")
    if isinstance(exc, OSError):
        return Diagnosis(
            f"could not reach {host}: {exc.strerror or text}",
            "Check the host and port, and that the network allows the connection.",
        )
    return Diagnosis(
        f"{type(exc).__name__}: {text}",
        "No known cause matches; the error above is what the driver said.",
    )


def _server(exc: pg.PostgresError, text: str, url: DbUrl | None, user: str) -> Diagnosis:
    """Errors the server or pooler sent, by class first, words second."""
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, pg.InvalidPasswordError):
        return Diagnosis(
            f"wrong password for user {user}",
            "Copy the password again (URL-encoded) into DATABASE_URL; after a rotation, every "
            "service needs the new one.",
        )
    if isinstance(exc, pg.InvalidCatalogNameError):
        return Diagnosis(
            f"the database {url.database if url else ''} does not exist on this server",
            "Fix the database name at the end of the URL (on Supabase it is postgres).",
        )
    if isinstance(exc, pg.TooManyConnectionsError):
        return Diagnosis(
            f"the server has no connection slot left ({first})",
            "Use a pooler, or find who holds connections (pg_stat_activity grouped by "
            "application_name).",
        )
    if isinstance(exc, pg.InvalidAuthorizationSpecificationError):
        if "Peer authentication" in text:
            return Diagnosis(
                "the URL fell back to a local socket (Peer authentication failed)",
                "The host part was lost: encode '#', '@', '/' and '?' in the password.",
            )
        return Diagnosis(f"the server refused the login: {first}", "Check the user and SSL mode.")
    if isinstance(exc, pg.DuplicatePreparedStatementError | pg.InvalidSQLStatementNameError):
        return PREPARED
    if isinstance(exc, pg.QueryCanceledError):
        return Diagnosis(
            "a query ran past statement_timeout and the server cancelled it",
            "The table is large or busy: look for the index the result suggests, or long "
            "transactions in pg_stat_activity.",
        )
    if isinstance(exc, pg.LockNotAvailableError):
        return Diagnosis(
            "a query waited past lock_timeout: something holds a lock on the table",
            "Look for DDL (a migration) or a long transaction in pg_locks / pg_stat_activity.",
        )
    if isinstance(exc, pg.ReadOnlySQLTransactionError):
        return Diagnosis(
            "a write was refused: the session is read-only",
            "fracas only reads; if the app sees this, its URL points at a read replica.",
        )
    if isinstance(exc, pg.UndefinedTableError):
        return Diagnosis(
            f"a table is missing ({first})",
            "Migrations were not applied here, or the URL points at another project: "
            "run `schema <env>`.",
        )
    if isinstance(exc, pg.UndefinedColumnError):
        return Diagnosis(
            f"a column is missing ({first})",
            "Set jobs.columns in the catalog to the table's real column names.",
        )
    if isinstance(exc, pg.InsufficientPrivilegeError):
        return Diagnosis(
            f"permission denied ({first})",
            f"Grant the role {user} USAGE on the schema and SELECT on its tables.",
        )
    for pattern, diagnosis in _POOLER:
        if pattern.search(text):
            return diagnosis
    if isinstance(exc, pg.ConnectionDoesNotExistError):
        return Diagnosis(
            "the connection was closed in the middle of a query",
            "The backend was terminated (restart, failover, idle kill) or the pooler dropped "
            "the client; run the check again.",
        )
    return Diagnosis(
        f"{type(exc).__name__} ({exc.sqlstate}): {first}",
        "No known cause matches; the error above is what the server said.",
    )


def is_database_error(exc: BaseException) -> bool:
    """What a probe expects to meet on the way to a database, as opposed to a bug of ours."""
    return isinstance(
        exc,
        OSError
        | TimeoutError
        | asyncpg.PostgresError
        | asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | asyncpg.ClientConfigurationError,
    )
