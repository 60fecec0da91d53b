"""Shared fixtures: the example catalog, an action context built the way the bot builds it, and
the FM-030 stack on the Render stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.actions.all import ACTIONS
from bot.actions.registry import ActionContext
from bot.config import Catalog, Settings, load_catalog
from bot.core import perform, understand
from bot.integrations.postgres.resolver import Resolver
from bot.present.text import plain
from bot.results import Result, to_json
from bot.sandbox.fm030 import Stack, catalog_yaml, load_fm030
from bot.sandbox.render_api import FakeRender
from bot.wiring import build_context

from fakes.slack_api import FakeSlack
from pgfixtures import *  # noqa: F403  (pg_admin, tempdb, pgbouncer, secured_pg)
from storefixtures import *  # noqa: F403  (store_url, store: both backends)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fracas.example.yaml"
ENV = {
    "STAGING_DATABASE_URL": "postgresql://postgres.stg:pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
    "PRODUCTION_DATABASE_URL": "postgresql://postgres:pw@db.abcdefghij.supabase.co:5432/postgres",
}


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(EXAMPLE, ENV)


@pytest.fixture
def ctx(catalog: Catalog) -> ActionContext:
    return ActionContext(catalog, ACTIONS)


@pytest.fixture
def render() -> Iterator[FakeRender]:
    with FakeRender() as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fm030(render: FakeRender) -> Stack:
    return load_fm030(render)


def stack_settings(render: FakeRender, tmp_path: Path) -> Settings:
    """Settings for the FM-030 stack: catalog on disk, Render on the stand-in."""
    path = tmp_path / "fracas.yaml"
    path.write_text(catalog_yaml(render))
    return Settings(
        render_api_key=render.api_key,
        render_api_url=render.api_url,
        fracas_catalog=path,
        fracas_fingerprint_key="test-install-key",
        fracas_store_url=f"sqlite:///{tmp_path}/fracas.db",
    )


@pytest.fixture
async def stack(render: FakeRender, fm030: Stack, tmp_path: Path) -> AsyncIterator[ActionContext]:
    ctx = build_context(stack_settings(render, tmp_path))
    ctx.render.backoff = 0.01
    yield ctx
    await ctx.aclose()


def db_context(url: str, hosts: dict[str, list[str]] | None = None) -> ActionContext:
    """A catalog whose production database is `url`; `hosts` act as /etc/hosts lines."""
    catalog = Catalog.model_validate({"environments": {"production": {"database_url": url}}})
    context = ActionContext(catalog, ACTIONS, resolver=Resolver(hosts))
    return context


async def run(ctx: ActionContext, text: str) -> Result:
    return await perform(understand(text, ctx), ctx)


def everything_shown(result: Result) -> str:
    """Every text a door could show of a result: plain text, JSON, attachments."""
    files = [a.text for step in _steps(result) for a in step.attachments]
    return "\n".join([plain(result), to_json(result), *files])


def _steps(result: Result) -> list:
    return list(getattr(result, "steps", [result]))
