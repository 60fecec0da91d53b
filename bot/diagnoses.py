"""Known failures by their words: what each means and what to do. One table serves `logs` (a
line that says it) and the database probe (an error whose class alone does not say it: the
poolers send catch-all codes, PgBouncer 08P01 and Supavisor XX000, reference §4)."""

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

# Pooler errors arrive under catch-all codes; the words are what tells them apart.
_POOLER_WORDS = [
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

_TEXT = [
    (
        r"\[Errno (?:101|113|99)\]|Network is unreachable",
        Diagnosis(
            "network unreachable (errno 101): an IPv6-only database host",
            f"Render has no outbound IPv6; Supabase's direct host db.<ref>.supabase.co is "
            f"IPv6-only. {SUPAVISOR}.",
        ),
    ),
    (r"'NoneType' object has no attribute 'group'", SCRAM),
    (r'relation "[^"]+" does not exist', MISSING_TABLE),
    (
        r'prepared statement "[^"]*" (?:already|does not) exist|'
        r"DuplicatePreparedStatementError|InvalidSQLStatementNameError",
        PREPARED,
    ),
    *((f"(?i:{words})", Diagnosis(cause, fix)) for words, cause, fix in _POOLER_WORDS),
    (
        r"No open ports detected|Port scan timeout reached",
        Diagnosis(
            "Render found no open port",
            "Bind 0.0.0.0:$PORT (uvicorn --host 0.0.0.0 --port $PORT), not 127.0.0.1 "
            "or a fixed port.",
        ),
    ),
    (
        r"(?:==> )?Timed Out\b",
        Diagnosis(
            "the deploy timed out",
            "The new instance never passed its health check in time: check that the app binds "
            "0.0.0.0:$PORT, that PORT matches, and that the health path answers fast.",
        ),
    ),
]
_COMPILED = [(re.compile(pattern), found) for pattern, found in _TEXT]


def diagnose(text: str) -> Diagnosis | None:
    """The first known failure the text names, if any."""
    for pattern, found in _COMPILED:
        if pattern.search(text):
            return found
    return None
