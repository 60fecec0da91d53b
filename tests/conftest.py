"""Shared fixtures: the example catalog and an action context built the way the bot builds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.actions.all import ACTIONS
from bot.actions.registry import ActionContext
from bot.config import Catalog, load_catalog

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
