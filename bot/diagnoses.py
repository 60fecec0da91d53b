"""Known failures by their words: what each means and what to do. One table serves `logs` (a
line or a folded traceback that says it) and the database probe (an error whose class alone does
not say it: the poolers send catch-all codes, PgBouncer 08P01 and Supavisor XX000, reference §4).

The words are written as the server, pooler or driver prints them (tests/data/logs/failures.yaml
holds real samples and their sources). The first match wins, so the table runs from the specific
to the general: a pooler's words before a closed connection, a chained root cause such as
`Network is unreachable` before the wrapper's `connection is closed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnosis:
    name: str
    hint: str


SUPAVISOR = (
    "Use Supabase's Supavisor pooler URL instead (user postgres.<ref>, host "
    "aws-0-<region>.pooler.supabase.com, port 5432 session or 6543 transaction)"
)
ENCODE = "URL-encoded: urllib.parse.quote(password, safe='')"


def ipv6_only(host: str) -> Diagnosis:
    """FM-030's cause: Supabase's direct host, AAAA only, from a platform without IPv6."""
    return Diagnosis(
        f"the database host {host} has only an IPv6 address, and Render has no outbound IPv6",
        f"{SUPAVISOR}, or buy the IPv4 add-on for the direct host.",
    )


PREPARED = Diagnosis(
    "prepared statements through a transaction-mode pooler",
    "Create asyncpg connections and pools with statement_cache_size=0 and do not call "
    "prepare(), or connect through the session pooler (port 5432).",
)
SCRAM = Diagnosis(
    "the pooler rejected the credentials during SCRAM",
    "asyncpg shows the pooler's 'Wrong password' as 'NoneType' object has no attribute "
    "'group': check the password (URL-encoded) and that the user is postgres.<project-ref>; a "
    "password rotated minutes ago may still be cached by Supavisor.",
)
MISSING_TABLE = Diagnosis(
    "a table is missing",
    "Migrations were not applied in this environment, or DATABASE_URL points at another "
    "project: run `schema <env>`.",
)
REFUSED = Diagnosis(
    "nothing listens on that host and port (connection refused)",
    "Check the host and port in the URL (Postgres 5432, Supavisor 5432 or 6543, PgBouncer "
    "6432) and that the server is up; on Render, localhost is the service itself.",
)

# Pooler errors arrive under catch-all codes; the words are what tells them apart.
_POOLER_WORDS = [
    (
        "pooler_unknown_user",
        r"tenant or user not found|\(ENOTFOUND\)",
        "the pooler does not know this user or project",
        "On Supavisor the user must be postgres.<project-ref>, and the host the region of the "
        "project (copy both from Supabase's Connect panel).",
    ),
    (
        "pooler_session_full",
        r"max clients reached in session mode|MaxClientsInSessionMode|EMAXCONNSESSION",
        "the session pooler is full: clients are limited to its pool_size",
        "Use transaction mode (port 6543) for many short connections, or raise the pool size.",
    ),
    (
        "pooler_client_limit",
        r"max client connections|no more connections allowed|EMAXCONN",
        "the pooler's client connection limit is reached",
        "Find who holds connections (a leaking pool, too many workers); raise the limit only "
        "after that.",
    ),
    (
        "pooler_saturated",
        r"unable to check out connection|ECHECKOUTTIMEOUT|query_wait_timeout",
        "the pooler is saturated: no server connection came free in time",
        "Look for long transactions holding pool connections (stuck jobs, idle in transaction).",
    ),
    (
        "ssl_required",
        r"SSL connection is required",
        "the server requires SSL and the client connected without it",
        "Remove sslmode=disable (or ssl=False) from the URL or the connect call.",
    ),
    (
        "pgbouncer_login",
        r"SASL authentication failed",
        "PgBouncer rejected the login: wrong password, or a user it does not know",
        "Check the password (URL-encoded) and that the user is in PgBouncer's auth_file.",
    ),
    (
        "pooler_no_database",
        r"no such database",
        "the pooler has no such database",
        "Use a database name the pooler lists (Supabase: postgres).",
    ),
    (
        "startup_parameter",
        r"unsupported startup parameter",
        "the pooler refuses a connection setting the client sends at startup",
        "Drop server_settings such as statement_timeout from the connect call (set them with "
        "SET LOCAL inside a transaction), or list them in ignore_startup_parameters.",
    ),
]

# (id, words, diagnosis), most specific first. Every pattern is literal text or a bounded
# class: linear on anything a stranger can log.
_TABLE: list[tuple[str, str, Diagnosis]] = [
    (
        "port_in_use",
        r"(?i:address already in use|only one usage of each socket address)|"
        r"\[(?:Errno|WinError) (?:98|48|10048)\]",
        Diagnosis(
            "the port is already taken: another process, or a second server in this one, "
            "listens on it",
            "Start one server per port: on Render bind 0.0.0.0:$PORT once (do not also call "
            "uvicorn.run() when the start command runs uvicorn); locally, stop the old process "
            "(lsof -i :PORT).",
        ),
    ),
    (
        "bind_address",
        r"\[Errno 99\] error while attempting to bind",
        Diagnosis(
            "the server binds an address this machine does not have",
            "Bind 0.0.0.0 (uvicorn --host 0.0.0.0 --port $PORT), not localhost, ::1 or a fixed IP.",
        ),
    ),
    ("scram", r"'NoneType' object has no attribute 'group'", SCRAM),
    *((key, f"(?i:{words})", Diagnosis(cause, fix)) for key, words, cause, fix in _POOLER_WORDS),
    ("refused_all", r"Multiple exceptions: \[Errno 111\] Connect call failed", REFUSED),
    (
        "network_unreachable",
        r"\[Errno (?:101|113|99)\]|Network is unreachable|Network unreachable|ENETUNREACH|"
        r"(?i:no route to host)",
        Diagnosis(
            "network unreachable (errno 101): an IPv6-only database host",
            f"Render has no outbound IPv6; Supabase's direct host db.<ref>.supabase.co is "
            f"IPv6-only. {SUPAVISOR}.",
        ),
    ),
    (
        "too_many_connections",
        r"sorry, too many clients already|remaining connection slots are reserved for|"
        r"too many connections for (?:role|database)|TooManyConnectionsError",
        Diagnosis(
            "Postgres is out of connection slots (max_connections, or a role's limit)",
            "Find who holds them (pg_stat_activity grouped by application_name and state): a "
            "leaking pool, too many workers, or pools larger than max_connections allows; "
            "connect through Supavisor (port 6543) or shrink the pools before raising the "
            "limit.",
        ),
    ),
    (
        "password",
        r"password authentication failed for user|InvalidPasswordError",
        Diagnosis(
            "the database rejected the password",
            f"Copy the password again into DATABASE_URL, {ENCODE}; after a rotation every "
            "service needs the new one, and on Supavisor the user is postgres.<project-ref>.",
        ),
    ),
    (
        "hba_no_tls",
        r"(?:no pg_hba\.conf entry|pg_hba\.conf rejects connection) for host[^\n]{0,400}"
        r"(?:no encryption|SSL off)",
        Diagnosis(
            "the server admits this client only over TLS, and it connected without",
            "Connect with TLS: sslmode=require in DATABASE_URL (asyncpg: ssl='require'), and "
            "drop sslmode=disable; or add a host rule for this client to pg_hba.conf.",
        ),
    ),
    (
        "hba",
        r"no pg_hba\.conf entry for host|pg_hba\.conf rejects connection for host",
        Diagnosis(
            "pg_hba.conf has no rule that admits this host, user and database",
            "Add a hostssl line for the client's address, user and database to pg_hba.conf "
            "and reload; on a managed database, check its allowed networks and the user and "
            "database names in the URL.",
        ),
    ),
    (
        "peer",
        r"(?i:peer authentication failed for user)",
        Diagnosis(
            "the URL lost its host and fell back to a local socket (peer authentication)",
            f"Give DATABASE_URL a host, with '#', '@', '/' and '?' in the password {ENCODE}.",
        ),
    ),
    (
        "no_database",
        r'database "[^"\n]{1,200}" does not exist|InvalidCatalogNameError',
        Diagnosis(
            "the database named in the URL does not exist",
            "Fix the database name at the end of DATABASE_URL (on Supabase it is postgres).",
        ),
    ),
    (
        "missing_table",
        r'relation "[^"\n]{1,300}" does not exist|UndefinedTableError',
        MISSING_TABLE,
    ),
    (
        "missing_schema",
        r'schema "[^"\n]{1,200}" does not exist|InvalidSchemaNameError',
        Diagnosis("a schema is missing", MISSING_TABLE.hint),
    ),
    (
        "prepared",
        r'prepared statement "[^"\n]{0,200}" (?:already|does not) exist|'
        r"DuplicatePreparedStatementError|InvalidSQLStatementNameError",
        PREPARED,
    ),
    (
        "permission",
        r"permission denied for (?:schema|table|relation|sequence|database|function|view) |"
        r"InsufficientPrivilegeError",
        Diagnosis(
            "the database role lacks a privilege on what it uses",
            "GRANT USAGE ON SCHEMA and SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA to the "
            "app's role; if it works elsewhere, compare the users in each DATABASE_URL "
            "(envdiff).",
        ),
    ),
    (
        "statement_timeout",
        r"canceling statement due to statement timeout",
        Diagnosis(
            "a query ran past statement_timeout and the server cancelled it",
            "Add the index it needs or work in smaller batches; Supabase allows anon 3 s, "
            "authenticated 8 s, others 2 min (ALTER ROLE … SET statement_timeout).",
        ),
    ),
    (
        "lock_timeout",
        r"canceling statement due to lock timeout|LockNotAvailableError|"
        r"could not obtain lock on (?:row|relation)",
        Diagnosis(
            "a query waited past lock_timeout: something held a lock on the table",
            "Find the migration (DDL) or long transaction holding it in pg_stat_activity and "
            "pg_locks; run migrations with a short lock_timeout at a quiet time.",
        ),
    ),
    (
        "deadlock",
        r"deadlock detected|DeadlockDetected",
        Diagnosis(
            "two transactions deadlocked and Postgres cancelled one",
            "Lock rows in one fixed order (ORDER BY id … FOR UPDATE), keep transactions "
            "short, and retry the cancelled one (SQLSTATE 40P01).",
        ),
    ),
    (
        "read_only",
        r"cannot execute [A-Z][A-Z ]{0,40} in a read-only transaction|"
        r"ReadOnlySQLTransactionError|ReadOnlySqlTransaction",
        Diagnosis(
            "a write went to a read-only session: a read replica, or read-only mode",
            "Point DATABASE_URL at the primary for writes; Supabase also turns a database "
            "read-only when its disk is full.",
        ),
    ),
    (
        "cached_plan",
        r"cached plan must not change result type|InvalidCachedStatementError|"
        r"cached statement plan is invalid",
        Diagnosis(
            "the schema changed under cached prepared statements (a migration ran)",
            "Expected once per connection after a migration; if it persists, restart the "
            "service after migrations or use statement_cache_size=0.",
        ),
    ),
    (
        "idle_in_transaction",
        r"terminating connection due to idle-in-transaction timeout|"
        r"IdleInTransactionSessionTimeout",
        Diagnosis(
            "a transaction sat idle past idle_in_transaction_session_timeout and the server "
            "closed its connection",
            "Commit or roll back before waiting on anything else (an HTTP call, LlamaParse, a "
            "sleep): no transaction open across an await on another service.",
        ),
    ),
    (
        "idle_session",
        r"terminating connection due to idle-session timeout|IdleSessionTimeout",
        Diagnosis(
            "an idle connection passed idle_session_timeout and the server closed it",
            "Recycle pooled connections before the timeout (SQLAlchemy pool_recycle, asyncpg "
            "max_inactive_connection_lifetime) and check them out with pool_pre_ping.",
        ),
    ),
    (
        "admin_shutdown",
        r"terminating connection due to administrator command|AdminShutdown",
        Diagnosis(
            "the database ended the connection: a restart, failover or pg_terminate_backend",
            "Expected across restarts: let the pool drop dead connections and retry "
            "(pool_pre_ping=True); if it recurs, find what restarts the database or "
            "terminates backends.",
        ),
    ),
    (
        "busy_connection",
        r"another operation is in progress",
        Diagnosis(
            "one asyncpg connection was used by two tasks at once",
            "Give each task its own connection (async with pool.acquire()) or AsyncSession; "
            "never share one across asyncio.gather or background tasks.",
        ),
    ),
    (
        "pool_exhausted",
        r"QueuePool limit of size -?\d{1,9} overflow -?\d{1,9} reached",
        Diagnosis(
            "the app's SQLAlchemy pool is exhausted: every connection stayed checked out",
            "Close sessions promptly (async with), keep transactions short, and size "
            "pool_size + max_overflow to the work and to the database's free slots.",
        ),
    ),
    (
        "tls_not_offered",
        r"rejected SSL upgrade",
        Diagnosis(
            "the client requires TLS but the server or pooler does not offer it",
            "Use sslmode=prefer (or drop sslmode=require) for a pooler without TLS, or turn "
            "TLS on there.",
        ),
    ),
    (
        "tls_untrusted",
        r"certificate verify failed|self[- ]signed certificate in certificate chain|"
        r"SELF_SIGNED_CERT_IN_CHAIN",
        Diagnosis(
            "the server's TLS certificate is not trusted by the client",
            "Give the client the provider's CA (Supabase: prod-ca-2021.crt, as sslrootcert or "
            "an ssl.SSLContext), or use sslmode=require, which encrypts without verifying.",
        ),
    ),
    (
        "dns",
        r"Name or service not known|Temporary failure in name resolution|"
        r"nodename nor servname provided|could not translate host name|"
        r"getaddrinfo (?:failed|ENOTFOUND|EAI_AGAIN)",
        Diagnosis(
            "a host name does not resolve (DNS)",
            "Check the host of the failing URL (DATABASE_URL, SUPABASE_URL, an API's) for "
            "typos; a paused or deleted Supabase project loses its name.",
        ),
    ),
    (
        "refused",
        r"Connect call failed|Connection refused|ECONNREFUSED|ConnectionRefusedError",
        REFUSED,
    ),
    (
        "server_closed",
        r"connection was closed in the middle of operation|ConnectionDoesNotExistError|"
        r"server closed the connection unexpectedly|SSL SYSCALL error: EOF detected|"
        r"SSL connection has been closed unexpectedly|"
        r"InterfaceError'?(?:>|\\u003e)?: (?:[^\n]{0,120}the underlying )?connection "
        r"(?:is|already) closed",
        Diagnosis(
            "the server or pooler closed the connection while it was in use",
            "A backend ended (restart, failover, an idle or pooler timeout) or a pooled "
            "connection went stale: use pool_pre_ping (SQLAlchemy) or an asyncpg "
            "max_inactive_connection_lifetime below those timeouts, and retry.",
        ),
    ),
    (
        "no_open_port",
        r"No open ports detected|Port scan timeout reached",
        Diagnosis(
            "Render found no open port",
            "Bind 0.0.0.0:$PORT (uvicorn --host 0.0.0.0 --port $PORT), not 127.0.0.1 "
            "or a fixed port.",
        ),
    ),
    (
        "deploy_timed_out",
        r"(?:==> )?Timed Out\b",
        Diagnosis(
            "the deploy timed out",
            "The new instance never passed its health check in time: check that the app binds "
            "0.0.0.0:$PORT, that PORT matches, and that the health path answers fast.",
        ),
    ),
]
KNOWN: dict[str, Diagnosis] = {key: found for key, _, found in _TABLE}
_COMPILED = [(re.compile(words), found) for _, words, found in _TABLE]

# SQLAlchemy wraps asyncpg's errors: `(sqlalchemy.dialects.postgresql.asyncpg.Error) <class
# 'asyncpg.exceptions.TooManyConnectionsError'>: sorry, …`. The wrapper's words are dropped so
# the inner class and message are what the table reads (JSON logs escape < and > as \u003c).
_WRAPPER = re.compile(
    r"\(sqlalchemy\.dialects\.postgresql\.asyncpg\.[\w.]{1,120}\) |"
    r"(?:<|\\u003c)class '([\w.]{1,200})'(?:>|\\u003e)"
)


def unwrap(text: str) -> str:
    """`(sqlalchemy…asyncpg.Error) <class 'asyncpg.exceptions.X'>: m` -> `asyncpg.exceptions.X:
    m`; anything else unchanged."""
    if "class '" not in text and "sqlalchemy.dialects" not in text:
        return text
    return _WRAPPER.sub(lambda m: m.group(1) or "", text)


def diagnose(text: str) -> Diagnosis | None:
    """The first known failure the text names, if any."""
    text = unwrap(text)
    for pattern, found in _COMPILED:
        if pattern.search(text):
            return found
    return None
