"""`runbooks` and `run`, the runbooks' own actions: they read the library wiring put in the
context, and a context built without one has no runbooks."""

from __future__ import annotations

import pytest

from bot.actions.all import ACTIONS
from bot.actions.registry import ActionContext
from bot.config import Catalog
from bot.core import perform, understand
from bot.errors import UsageError
from bot.results import Table
from bot.runbooks.library import load_library


async def test_the_listing_shows_the_library_in_the_context(catalog: Catalog) -> None:
    ctx = ActionContext(catalog, ACTIONS, runbooks=load_library(ACTIONS))
    result = await perform(understand("runbooks", ctx), ctx)
    assert isinstance(result.details, Table)
    assert "run worker-down [env] [service=worker]" in [row[0] for row in result.details.rows]


async def test_a_context_without_a_library_has_no_runbooks(ctx: ActionContext) -> None:
    result = await perform(understand("runbooks", ctx), ctx)
    assert result.summary == "No runbooks are loaded."
    with pytest.raises(UsageError, match="no runbooks are loaded"):
        understand("run worker-down", ctx)
