"""`fracas serve | worker | migrate | console | demo | run | report | check | manifest`: the
process entry points.

What only one subcommand needs (the server, the worker, the store's migrations, the checks, the
sandbox) is imported by that subcommand's handler: `fracas run` and the console then start in
less time (importing this module: 0.8-1.3 s instead of 1.5-1.8 s here), loading none of it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import textwrap

from rich.console import Console

from bot.actions.all import ACTIONS
from bot.config import Settings, load_settings
from bot.console import interactive, run_once
from bot.errors import ConfigError, Problem
from bot.slack.manifest import manifest_yaml, url_problem
from bot.wiring import Deps, build_deps
from bot.work.command import EXIT_FAILED, EXIT_USAGE

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings)
        return int(args.handler(args, settings) or 0)
    except ConfigError as exc:
        err = Console(stderr=True)
        err.print("[red]Configuration problems:[/red]")
        for problem in exc.problems:
            err.print(f"  ✖ {problem}", markup=False, highlight=False)
        err.print("Run `fracas check` to see everything that needs fixing.")
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fracas", description="ChatOps incident bot.")
    sub = parser.add_subparsers(required=True, metavar="command")
    serve = sub.add_parser(
        "serve", help="run the Slack bot (HTTP, or Socket Mode) and its worker processes"
    )
    serve.add_argument("--host", help="bind address (default FRACAS_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default PORT or 3000)")
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes to run and supervise (default FRACAS_WORKERS or 1; 0 when "
        "`fracas worker` runs elsewhere on a shared PostgreSQL store)",
    )
    serve.set_defaults(handler=_serve)
    worker = sub.add_parser(
        "worker", help="run one worker process: claims jobs from the store (FRACAS_STORE_URL)"
    )
    worker.set_defaults(handler=_worker)
    migrate = sub.add_parser("migrate", help="bring the store up to date (serve does it too)")
    migrate.set_defaults(handler=_migrate)
    console = sub.add_parser("console", help="interactive prompt with the /fracas grammar")
    console.set_defaults(handler=_console)
    demo = sub.add_parser(
        "demo", help="try it: a sandbox in incident FM-030's state (no network, no setup)"
    )
    demo.add_argument(
        "--script", metavar="FILE", help="run the commands in FILE (or - for stdin) and exit"
    )
    demo.add_argument(
        "--tour",
        action="store_true",
        help="run the six built-in runbooks, each explained, and exit",
    )
    demo.add_argument(
        "--incident",
        action="store_true",
        help="run a whole incident: open, run the runbook, note the cause, resolve, report",
    )
    demo.set_defaults(handler=_demo)
    run = sub.add_parser(
        "run",
        help="run one command and exit (0 ok, 1 warn/fail, 2 usage)",
        description="Run one /fracas command and exit: 0 ok, 1 warn/fail/error, 2 usage.",
        epilog=_run_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON for scripts and CI (also accepted after the command)",
    )
    run.add_argument("words", nargs=argparse.REMAINDER, help="the command, e.g. help logs")
    run.set_defaults(handler=_run)
    report = sub.add_parser(
        "report",
        help="print an incident's FRACAS report (Markdown) from its timeline in the store",
    )
    report.add_argument(
        "incident", nargs="?", help="e.g. FM-31 (default: the one open, or the last)"
    )
    report.set_defaults(handler=_report)
    check = sub.add_parser("check", help="report every configuration problem at once")
    check.set_defaults(handler=_check)
    man = sub.add_parser("manifest", help="print the Slack app manifest")
    mode = man.add_mutually_exclusive_group()
    mode.add_argument("--url", help="public base URL: HTTP mode (default $RENDER_EXTERNAL_URL)")
    mode.add_argument("--socket", action="store_true", help="Socket Mode (no public URL)")
    man.set_defaults(handler=_manifest)
    return parser


def _run_epilog() -> str:
    verbs = sorted(dict.fromkeys(name.split(" ")[0] for name in ACTIONS))
    lines = textwrap.wrap(", ".join(verbs), 76, initial_indent="  ", subsequent_indent="  ")
    return "\n".join(
        [
            "commands (`fracas run help COMMAND` shows one):",
            *lines,
            "",
            "examples:",
            "  fracas run status production",
            "  fracas run --json logs worker production --level error",
        ]
    )


def configure_logging(settings: Settings) -> None:
    """To stderr; library debug output (which can carry request headers) stays off."""
    logging.basicConfig(
        level=settings.fracas_log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("slack_sdk", "slack_bolt", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per Render page otherwise
    logging.getLogger("alembic").setLevel(logging.WARNING)  # two lines per store opened


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    overrides = {k: v for k, v in (("fracas_host", args.host), ("port", args.port)) if v}
    settings = settings.model_copy(update=overrides)
    from bot.server import serve

    workers = settings.fracas_workers if args.workers is None else args.workers
    if workers < 0:
        raise ConfigError([Problem("--workers", "must be 0 or more")])
    asyncio.run(serve(build_deps(settings), workers))
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.work.process import run_worker

    asyncio.run(run_worker(build_deps(settings)))
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.engine import open_store
    from bot.store.migrate import migrate

    store = open_store(settings.fracas_store_url)

    async def go() -> list[str]:
        try:
            return await migrate(store)
        finally:
            await store.close()

    applied = asyncio.run(go())
    done = f"applied {', '.join(applied)}" if applied else "already up to date"
    Console().print(f"store {store.where}: {done}", markup=False, highlight=False)
    return 0


def _console(args: argparse.Namespace, settings: Settings) -> int:
    deps = build_deps(settings)
    interactive(deps.ctx, Console(), _banner(deps))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.demo import demo, script_from

    return demo(script_from(args.script, args.tour, args.incident), Console())


def _banner(deps: Deps) -> str:
    catalog = deps.ctx.catalog
    where = str(deps.settings.fracas_catalog)
    if not catalog.environments:
        where += " (not found: no services or environments yet)"
    else:
        where += f": {', '.join(catalog.env_names)}; services {', '.join(catalog.services)}"
    return (
        f"[bold]fracas console[/bold]  catalog {where}\n"
        "Type [bold]help[/bold] for the commands, [bold]exit[/bold] or Ctrl-D to leave."
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    words = [w for w in args.words if w != "--json"]
    deps = build_deps(settings)
    return run_once(words, deps.ctx, args.json or "--json" in args.words, Console())


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import print_report

    return print_report(build_deps(settings).ctx, args.incident, Console(stderr=True))


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.check import run_checks

    out = Console()
    findings = asyncio.run(run_checks(settings))
    for finding in findings:
        if finding.ok:
            out.print(f"[green]✔[/green] {finding.area}: {finding.ok_detail}", highlight=False)
        if finding.skipped:
            out.print(f"[dim]»[/dim] {finding.area}: ", end="", highlight=False)
            out.print(finding.skipped, markup=False, highlight=False)
        for problem in finding.problems:
            out.print(f"[red]✖[/red] {finding.area}: ", end="", highlight=False)
            out.print(str(problem), markup=False, highlight=False)
        for warning in finding.warnings:
            out.print(f"[yellow]![/yellow] {finding.area}: ", end="", highlight=False)
            out.print(str(warning), markup=False, highlight=False)
    count = sum(len(f.problems) for f in findings)
    skipped = sum(bool(f.skipped) for f in findings)
    also = f" ({skipped} check{'s' * (skipped != 1)} skipped)" if skipped else ""
    if count:
        out.print(f"{count} problem{'s' * (count != 1)} found{also}.")
        return EXIT_FAILED
    out.print(f"All good{also}.")
    return 0


def _manifest(args: argparse.Namespace, settings: Settings) -> int:
    source = "--url" if args.url else "RENDER_EXTERNAL_URL"
    url = None if args.socket else args.url or os.environ.get("RENDER_EXTERNAL_URL")
    problem = url_problem(url) if url else None
    if problem:
        Console(stderr=True).print(f"{source}: {problem}", markup=False, highlight=False)
        return EXIT_USAGE
    sys.stdout.write(manifest_yaml(url))
    return 0
