"""From an exception to a cause and a fix, per reference/postgres-failures.md §4.

asyncpg's class and SQLSTATE decide first; the poolers use catch-all codes (PgBouncer 08P01,
Supavisor XX000), so their errors are told apart by text. What the URL says (Supabase direct
host, pooler, port) turns a bare errno into the incident's real cause.
"""

from __future__ import annotations

import socket
import ssl

import asyncpg
from asyncpg import exceptions as pg

from bot.diagnoses import MISSING_TABLE, PREPARED, SCRAM, Diagnosis, diagnose, ipv6_only
from bot.integrations.supabase import DbUrl

UNREACHABLE = (101, 113, 99)  # ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL


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
            return ipv6_only(url.host)
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
            return ipv6_only(url.host)
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


# What the server said, by class: (classes, cause, fix), filled with {user}, {database}, {first}.
_BY_CLASS: list[tuple[type[Exception] | tuple[type[Exception], ...], str, str]] = [
    (
        pg.InvalidPasswordError,
        "wrong password for user {user}",
        "Copy the password again (URL-encoded) into DATABASE_URL; after a rotation, every "
        "service needs the new one.",
    ),
    (
        pg.InvalidCatalogNameError,
        "the database {database} does not exist on this server",
        "Fix the database name at the end of the URL (on Supabase it is postgres).",
    ),
    (
        pg.TooManyConnectionsError,
        "the server has no connection slot left ({first})",
        "Use a pooler, or find who holds connections (pg_stat_activity grouped by "
        "application_name).",
    ),
    (
        (pg.DuplicatePreparedStatementError, pg.InvalidSQLStatementNameError),
        PREPARED.name,
        PREPARED.hint,
    ),
    (
        pg.QueryCanceledError,
        "a query ran past statement_timeout and the server cancelled it",
        "The table is large or busy: look for the index the result suggests, or long "
        "transactions in pg_stat_activity.",
    ),
    (
        pg.LockNotAvailableError,
        "a query waited past lock_timeout: something holds a lock on the table",
        "Look for DDL (a migration) or a long transaction in pg_locks / pg_stat_activity.",
    ),
    (
        pg.ReadOnlySQLTransactionError,
        "a write was refused: the session is read-only",
        "fracas only reads; if the app sees this, its URL points at a read replica.",
    ),
    (pg.UndefinedTableError, MISSING_TABLE.name + " ({first})", MISSING_TABLE.hint),
    (
        pg.UndefinedColumnError,
        "a column is missing ({first})",
        "Set jobs.columns in the catalog to the table's real column names.",
    ),
    (
        pg.InsufficientPrivilegeError,
        "permission denied ({first})",
        "Grant the role {user} USAGE on the schema and SELECT on its tables.",
    ),
]


def _server(exc: pg.PostgresError, text: str, url: DbUrl | None, user: str) -> Diagnosis:
    """Errors the server or pooler sent, by class first, words second."""
    first = text.splitlines()[0] if text else type(exc).__name__
    said = {"user": user, "database": url.database if url else "", "first": first}
    for classes, cause, fix in _BY_CLASS:
        if isinstance(exc, classes):
            return Diagnosis(cause.format(**said), fix.format(**said))
    if isinstance(exc, pg.InvalidAuthorizationSpecificationError):
        if "Peer authentication" in text:
            return Diagnosis(
                "the URL fell back to a local socket (Peer authentication failed)",
                "The host part was lost: encode '#', '@', '/' and '?' in the password.",
            )
        return diagnose(first) or Diagnosis(
            f"the server refused the login: {first}", "Check the user and SSL mode."
        )
    known = diagnose(first)
    if known is not None:
        return known
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
