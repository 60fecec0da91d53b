"""A throwaway PostgreSQL cluster that enforces SCRAM passwords: the system server is trust-only,
so a wrong password (28P01, InvalidPasswordError) can only be reproduced here."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self
from urllib.parse import quote

from .pgbouncer import free_port

RUN_AS = "postgres"  # initdb and postgres refuse to run as root


def bindir() -> Path | None:
    """Directory holding initdb and pg_ctl: pg_config --bindir, else the Debian layout."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and all(os.access(Path(candidate, t), os.X_OK) for t in ("initdb", "pg_ctl")):
            return Path(candidate)
    return None


def available() -> str | None:
    """None if a cluster can be made here, else why not."""
    if bindir() is None:
        return "initdb/pg_ctl not found (pg_config --bindir, /usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser to drop to the postgres user"
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user"
    return None


class SecuredPostgres:
    """initdb -A scram-sha-256 in a temp dir, started on 127.0.0.1:<free port> with fsync off;
    superuser `postgres` with a random `.password`. Stopped with -m immediate on exit."""

    def __init__(self) -> None:
        self.password = secrets.token_urlsafe(18)
        self.port = 0
        self.dir: Path | None = None
        self._bin: Path | None = None
        self._started = False

    def url(
        self, user: str = "postgres", password: str | None = None, database: str = "postgres"
    ) -> str:
        """URL on this cluster; password None means the right one."""
        secret = self.password if password is None else password
        return (
            f"postgresql://{quote(user, safe='')}:{quote(secret, safe='')}"
            f"@127.0.0.1:{self.port}/{quote(database, safe='')}"
        )

    def _run(self, *command: str) -> None:
        """Run a server tool as the postgres user; on failure raise with its output."""
        argv = list(command)
        if os.geteuid() == 0:
            argv = ["runuser", "-u", RUN_AS, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.dir / "server.log" if self.dir else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}{tail}"
            )

    def __enter__(self) -> Self:
        self._bin = bindir()
        if self._bin is None:
            raise RuntimeError(available() or "PostgreSQL server binaries not found")
        self.dir = Path(tempfile.mkdtemp(prefix="fracas-pg-"))
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        assert self.dir is not None and self._bin is not None
        data, pwfile = self.dir / "data", self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS)
            for path in (self.dir, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
        self.dir.chmod(0o700)
        self._run(
            str(self._bin / "initdb"),
            *("-D", str(data), "-U", "postgres", "-A", "scram-sha-256", f"--pwfile={pwfile}"),
            *("--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"),
        )
        pwfile.unlink()
        self.port = free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
            " -c fsync=off -c shared_buffers=16MB"
        )
        self._started = True  # from here on, a failed start may still leave a server to stop
        self._run(
            str(self._bin / "pg_ctl"),
            *("-D", str(data), "-w", "-t", "20", "-l", str(self.dir / "server.log")),
            *("-o", options, "start"),
        )

    def __exit__(self, *exc_info: object) -> None:
        if self.dir is None:
            return
        if self._started and self._bin is not None:
            data = str(self.dir / "data")
            with contextlib.suppress(RuntimeError):  # never started, or already gone
                self._run(str(self._bin / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
            self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
