"""Which database a command means: the environment's `database_url` from the catalog, or the
`DATABASE_URL` a Render service really runs with (`--service`), so the bot tests exactly what
the worker uses. Either way the URL's password is learned by the redactor before any use."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.actions.registry import ActionContext
from bot.actions.targets import target
from bot.diagnoses import ipv6_only
from bot.errors import FracasError
from bot.integrations.postgres.classify import classify, is_database_error
from bot.integrations.postgres.dsn import Dsn, DsnError, check_dsn, holds_secret
from bot.integrations.postgres.resolver import Resolver
from bot.integrations.postgres.session import DEFAULT, Limits, ReadOnly, session
from bot.integrations.supabase import parse_db_url
from bot.results import StepResult, Verdict

VARIABLE = "DATABASE_URL"


@dataclass(frozen=True)
class Source:
    dsn: str
    label: str
    resolver: Resolver | None = None  # the context's, for the names it answers itself


async def database(ctx: ActionContext, env: str, service: str | None = None) -> Source:
    """The URL and where it came from, in words fit for a title."""
    if service is not None:
        source = await _of_service(ctx, env, service)
    else:
        source = _of_catalog(ctx, env)
    if holds_secret(source.dsn):
        ctx.redactor.learn(source.dsn)
    return dataclasses.replace(source, resolver=ctx.resolver)


def _of_catalog(ctx: ActionContext, env: str) -> Source:
    spec = ctx.catalog.environments[env]
    if spec.database_url is not None:
        return Source(spec.database_url.get_secret_value(), f"{env} database (catalog)")
    key = f"environments.{env}.database_url"
    unset = [p for p in ctx.catalog.unresolved if key in p.where]
    if unset:
        raise FracasError(
            f"{env}'s database_url is not available: {unset[0].message}.",
            "Set that variable where fracas runs, or probe a service's own URL with "
            f"`db {env} --service worker`.",
        )
    raise FracasError(
        f"the catalog has no database_url for {env}.",
        f"Add `database_url: ${{{env.upper()}_DATABASE_URL}}` under environments.{env}, or "
        f"probe a service's own URL with `--service`.",
    )


async def _of_service(ctx: ActionContext, env: str, name: str) -> Source:
    where = target(ctx, name, env)
    ctx.render.require_key()
    service = await ctx.render.service(where.render)
    variables = dict(await ctx.render.env_vars(service["id"]))
    label = f"{VARIABLE} of {where.label}"
    value = variables.get(VARIABLE, "")
    if not value.strip():
        state = "empty" if VARIABLE in variables else "not set"
        raise FracasError(
            f"{VARIABLE} is {state} on {where.label}: the service cannot reach any database.",
            f"Set {VARIABLE} on the Render service (compare with `envdiff {where.name}`).",
        )
    return Source(value, label)


class DatabaseError(FracasError):
    """The database could not answer; message names the cause, hint the fix."""

    def result(self, title: str) -> StepResult:
        """An unreachable or refusing database is a finding for the channel, not a bot error."""
        return StepResult(Verdict.FAIL, title, f"{self.message} {self.hint}")


@asynccontextmanager
async def reading(source: Source, limits: Limits = DEFAULT) -> AsyncIterator[ReadOnly]:
    """A read-only session whose failures, at connect or in a query, arrive classified. The
    URL passes the same check as `db`'s url stage first, so every database step refuses a
    broken URL the same way, by what breaks it and never by its value. The step's title names
    the source, so the message does not."""
    try:
        dsn = check_dsn(source.dsn)
    except DsnError as exc:
        raise DatabaseError(exc.message, exc.hint) from None
    try:
        address = await _address(dsn, source.resolver, limits)
        async with session(source.dsn, limits, address) as ro:
            yield ro
    except Exception as exc:
        if not is_database_error(exc):
            raise
        cause = classify(exc, parse_db_url(source.dsn), limits.connect)
        raise DatabaseError(sentence(cause.name), cause.hint) from exc


async def _address(dsn: Dsn, resolver: Resolver | None, limits: Limits) -> tuple[str, int] | None:
    """Where to dial when the resolver answers the URL's host itself (the sandbox's names, the
    tests', as /etc/hosts lines): its IPv4 address, as Render would; an IPv6-only answer is the
    cause `db` names, not worth a connect. Other names, and URLs that verify certificates
    (which name hosts), are left to asyncpg, which tries every address the system gives."""
    host = dsn.url.host
    if resolver is None or dsn.sslmode in ("verify-ca", "verify-full"):
        return None
    if host not in resolver.hosts and resolver.system:
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    async with asyncio.timeout(limits.connect):
        v4, v6 = await resolver.families(host, dsn.port)
    if isinstance(v4, list) and v4:
        return v4[0], resolver.port(host, dsn.port)
    if isinstance(v6, list) and v6:
        cause = ipv6_only(host)
        raise DatabaseError(sentence(cause.name), cause.hint)
    raise v4 if isinstance(v4, BaseException) else socket.gaierror(socket.EAI_NONAME, host)


def sentence(text: str) -> str:
    """A diagnosis name as a sentence of a summary."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
