"""A real PgBouncer (1.18 on Debian 12) in transaction mode, so the prepared-statement, pid and
SASL failures of reference/postgres-failures.md §3, §6 and §7 come from the real pooler."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self
from urllib.parse import quote

from bot.sandbox.database import free_port

DEFAULT_BINARY = "/usr/sbin/pgbouncer"
RUN_AS = "postgres"  # pgbouncer refuses to run as root


def binary() -> str | None:
    """Path of the pgbouncer executable, if any."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    return DEFAULT_BINARY if os.access(DEFAULT_BINARY, os.X_OK) else None


def available() -> str | None:
    """None if pgbouncer can be started here, else why not."""
    if binary() is None:
        return "pgbouncer is not installed (apt-get install pgbouncer)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user to run pgbouncer as"
    return None


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class PgBouncer:
    """pgbouncer as a foreground child on 127.0.0.1:<free port>, transaction pooling, SCRAM to
    clients with the plaintext passwords in `users` (also used towards the backend)."""

    def __init__(
        self,
        backend_host: str = "127.0.0.1",
        backend_port: int = 5432,
        *,
        users: dict[str, str],
    ) -> None:
        if not users:
            raise ValueError("pgbouncer needs at least one user in its auth_file")
        self.backend_host = backend_host
        self.backend_port = backend_port
        self.users = dict(users)
        self.port = 0
        self.dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def password(self) -> str:
        """Password of the first user in `users` (the fixture has just one)."""
        return next(iter(self.users.values()))

    def url(self, user: str, password: str, database: str = "postgres") -> str:
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@127.0.0.1:{self.port}/{quote(database, safe='')}"
        )

    def __enter__(self) -> Self:
        exe = binary()
        if exe is None:
            raise RuntimeError(available() or "pgbouncer not found")
        self.dir = Path(tempfile.mkdtemp(prefix="fracas-pgbouncer-"))
        try:
            self._start(exe)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, exe: str) -> None:
        assert self.dir is not None
        self.port = free_port()
        log, pid = self.dir / "pgbouncer.log", self.dir / "pgbouncer.pid"
        userlist = self.dir / "userlist.txt"
        ini = self.dir / "pgbouncer.ini"
        userlist.write_text("".join(f"{_quoted(u)} {_quoted(p)}\n" for u, p in self.users.items()))
        ini.write_text(
            "[databases]\n"
            f"* = host={self.backend_host} port={self.backend_port}\n"
            "\n[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "pool_mode = transaction\n"
            "auth_type = scram-sha-256\n"
            f"auth_file = {userlist}\n"
            "default_pool_size = 2\n"
            "max_client_conn = 50\n"
            "query_wait_timeout = 5\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {log}\n"
            f"pidfile = {pid}\n"
        )
        command = [exe, str(ini)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", RUN_AS]
            account = pwd.getpwnam(RUN_AS)
            for path in (self.dir, userlist, ini):
                os.chown(path, account.pw_uid, account.pw_gid)
        self.dir.chmod(0o755)
        userlist.chmod(0o644)
        ini.chmod(0o644)
        with (self.dir / "stderr.txt").open("wb") as stderr:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
            )
        self._wait_listening(log)

    def _wait_listening(self, log: Path) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        status = self._proc.poll()
        why = "timed out after 10 s" if status is None else f"exited with {status}"
        raise RuntimeError(f"pgbouncer did not start ({why}):\n{self._log_tail(log)}")

    def _log_tail(self, log: Path, lines: int = 20) -> str:
        assert self.dir is not None
        text = ""
        for path in (log, self.dir / "stderr.txt"):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __exit__(self, *exc_info: object) -> None:
        if self._proc is not None:
            self._proc.terminate()  # SIGTERM: immediate shutdown
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
