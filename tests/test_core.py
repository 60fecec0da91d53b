"""The shared path from text to result: what is echoed back is redacted. (How a call is
bounded and its failures explained: tests/actions/test_calling.py.)"""

from __future__ import annotations

import pytest

from bot.actions.registry import ActionContext
from bot.core import understand
from bot.errors import UsageError


async def test_a_secret_typed_into_a_command_is_never_echoed(ctx: ActionContext) -> None:
    token = "xoxb-2468013579-1357924680123-AbCdEfGhIjKlMnOpQrStUvWx"
    with pytest.raises(UsageError) as refused:
        understand(f"logs {token}", ctx)
    assert token not in str(refused.value) and "[secret " in refused.value.message
    invocation = understand(f"logs worker --grep {token}", ctx)
    assert token not in invocation.text  # what Slack echoes: "Working on ...", the origin line
    assert invocation.params.grep == token  # what the action searches for
