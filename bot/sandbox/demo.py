"""`fracas demo`: the whole bot against a sandbox, with no configuration and no network.

Render's API runs in-process on loopback, seeded with the incidents.md stack in the FM-030
state; the production worker's database host answers DNS with an IPv6 address only, so the
database step makes a real connection attempt and names the cause. Everything else is the real
code: the catalog file, the runbooks, the Render client over HTTP, the console.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.console import Console

from bot.actions.registry import ActionContext
from bot.config import Settings
from bot.console import interactive
from bot.integrations.postgres.resolver import Resolver
from bot.sandbox.fm030 import Stack, catalog_yaml, load_fm030
from bot.sandbox.render_api import FakeRender
from bot.wiring import build_context

IPV6_ONLY = "2001:db8::1"  # documentation prefix: no route leads there
TRY = (
    ("run worker-down production", "every check at once, and the likely cause"),
    ("envdiff worker", "staging vs production variables, no secret shown"),
    ("logs worker production", "the crash loop, clustered and named"),
    ("status production", "every service at a glance"),
    ("runbooks", "the other runbooks; `help` for every command"),
)


@contextmanager
def sandbox() -> Iterator[tuple[ActionContext, FakeRender]]:
    """The Render stand-in in the FM-030 state and a context wired to it, in a private
    directory (catalog, store) that is left behind for a look afterwards."""
    with FakeRender() as fake:
        stack = load_fm030(fake)
        home = Path(tempfile.mkdtemp(prefix="fracas-demo-"))
        (home / "fracas.yaml").write_text(catalog_yaml(fake))
        settings = Settings(
            _env_file=None,
            render_api_key=fake.api_key,
            render_api_url=fake.api_url,
            fracas_catalog=home / "fracas.yaml",
            fracas_runbooks=home / "runbooks",
            fracas_store_url=f"sqlite:///{home / 'fracas.db'}",
        )
        ctx = build_context(settings)
        yield dataclasses.replace(ctx, resolver=sandbox_resolver(stack)), fake


def sandbox_resolver(stack: Stack) -> Resolver:
    """Only the sandbox's names resolve: each project's direct host, to IPv6 only."""
    hosts = {f"db.{ref}.supabase.co": [IPV6_ONLY] for ref in stack.refs.values()}
    return Resolver(hosts, system=False)


def banner(fake: FakeRender) -> str:
    width = max(len(command) for command, _ in TRY)
    tries = "\n".join(f"  [bold]{c:<{width}}[/bold]  {why}" for c, why in TRY)
    return (
        "[bold]fracas demo[/bold]: a sandbox with no network. Render's API is a stand-in on "
        f"{fake.url}, in the state of incident FM-030: the production worker is down, "
        f"the API is healthy.\nTry:\n{tries}\n"
        "[bold]exit[/bold] or Ctrl-D leaves."
    )


def demo(script: TextIO | None, console: Console) -> int:
    """Interactive, or the lines of `script` one after another (for tours and tests): 2 when a
    scripted line could not be understood, else 0."""
    with sandbox() as (ctx, fake):
        read = _reader(script, console) if script is not None else input
        refused = interactive(ctx, console, banner(fake), read)
    return 2 if script is not None and refused else 0


def _reader(script: TextIO, console: Console) -> Callable[[str], str]:
    """Lines as if typed: echoed after the prompt; blank lines and `#` comments skipped."""
    lines = (line.strip() for line in script)

    def read(prompt: str) -> str:
        for line in lines:
            if line and not line.startswith("#"):
                console.print(f"{prompt}{line}", markup=False, highlight=False)
                return line
        raise EOFError

    return read


def script_from(path: str | None) -> TextIO | None:
    """`--script FILE` (or `-`), else stdin when it is not a terminal, else None."""
    if path == "-" or (path is None and not sys.stdin.isatty()):
        return sys.stdin
    return open(path, encoding="utf-8") if path else None
