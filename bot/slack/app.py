"""The Slack door: parse, authorise, answer instant commands in the ack, and enqueue the rest
as jobs before acking (workers run them: work.py). Nothing else happens here."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import failure_text, perform, understand
from bot.errors import FracasError
from bot.present.incident import REPORT_NOW
from bot.present.slack import FULL_LOGS, RERUN, escape, render_problem, render_reply
from bot.slack.keys import idempotency_key
from bot.slack.pins import PIN, PINNED, PinOrder
from bot.slack.work import COMMAND, LOGS, CommandOrder, LogsOrder
from bot.wiring import Deps

log = logging.getLogger(__name__)
_COMMANDS: TypeAdapter[list[str]] = TypeAdapter(list[str])


def build_app(deps: Deps, client: AsyncWebClient) -> AsyncApp:
    """Bolt app with every listener registered; Socket Mode skips request signing.

    `process_before_response`: our listeners only parse, answer instant commands and enqueue
    the rest, so bolt can send the ack as soon as the listener returns instead of polling for
    it every 10 ms from a separate task (which is most of a bare bolt app's ack time).
    """
    secret = deps.settings.slack_signing_secret
    logger = logging.getLogger("bot.slack")
    if _client_wins not in logger.filters:
        logger.addFilter(_client_wins)
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=False,  # web.py checks it before bolt sees the body
        process_before_response=True,
        logger=logger,
    )
    register(app, deps)
    return app


def _client_wins(record: logging.LogRecord) -> bool:
    """Bolt warns that SLACK_BOT_TOKEN is unused when a client is given; ours carries it."""
    return "`token` will be unused" not in record.getMessage()


def register(app: AsyncApp, deps: Deps) -> None:
    """Every Slack listener, in one place."""

    @app.event("reaction_added")
    async def reaction_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        await _pinned(deps, event, body)

    @app.event("reaction_removed")
    async def reaction_removed(event: dict[str, Any], body: dict[str, Any]) -> None:
        await _pinned(deps, event, body)

    @app.command("/fracas")
    async def fracas(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = command.get("text", "")
        try:
            invocation = understand(text, deps.ctx)
            if invocation.action.instant:
                await ack(**render_reply(await perform(invocation, deps.ctx)).payload())
                return
        except FracasError as exc:
            await ack(**render_problem(exc.message, exc.hint).payload())
            return
        except Exception as exc:  # a crash in an instant action still gets an answer
            await ack(**render_problem(failure_text(exc, text)).payload())
            return
        user = command.get("user_id", "")
        order = CommandOrder(
            channel=command["channel_id"],
            user=user,
            response_url=command.get("response_url", ""),
            text=invocation.text,
            origin=f"`/fracas {escape(invocation.text)}` · <@{user}>",
            sealed=deps.sealed(text, invocation.text),
        )
        try:
            added = await deps.enqueue(COMMAND, order, idempotency_key(command), user, order.text)
        except FracasError as exc:
            await ack(**render_problem(exc.message, exc.hint).payload())
            return
        if not added:
            await ack()  # the same command again (another replica took it): one answer
            return
        await ack(
            text=f":hourglass_flowing_sand: Working on `{invocation.text}`…",
            response_type="ephemeral",
        )

    @app.action(RERUN)
    async def rerun(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Run the report's command again: a new message, so the first one stays as evidence."""
        await _command_click(deps, ack, body, respond, "rerun")

    @app.action(REPORT_NOW)
    async def report_now(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The button offered after resolving: `report FM-31`, as if typed."""
        await _command_click(deps, ack, body, respond, "asked")

    @app.action(FULL_LOGS)
    async def full_logs(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Each log step of the run, fetched again whole and attached to the report's thread."""
        commands = _log_commands(body["actions"][0].get("value"))
        if not commands:
            await ack()
            await _tell(respond, "That button carries no log commands.")
            return
        order = LogsOrder(
            **_asker(body),
            commands=[deps.ctx.redactor.text(c) for c in commands],
            thread=(body.get("container") or {}).get("message_ts") or body["message"]["ts"],
        )
        await _enqueue_click(deps, ack, respond, LOGS, order, body, "full logs")


async def _pinned(deps: Deps, event: dict[str, Any], body: dict[str, Any]) -> None:
    """A 📌 put on or taken off: a job, which reads the message's reactions as they are then."""
    item = event.get("item")
    if event.get("reaction") != PINNED or not isinstance(item, dict):
        return
    if item.get("type") != "message":
        return
    order = PinOrder(
        channel=str(item.get("channel", "")),
        ts=str(item.get("ts", "")),
        user=str(event.get("user", "")),
    )
    if not order.channel or not order.ts:
        return
    try:
        await deps.enqueue(PIN, order, idempotency_key(body), order.user, f"pin {order.ts}")
    except FracasError as exc:  # logged by enqueue; Slack retries the event
        raise RuntimeError(exc.message) from None


async def _command_click(
    deps: Deps, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, how: str
) -> None:
    """A button whose value is a command line: run it as if the clicker typed it."""
    text = str(body["actions"][0].get("value", ""))
    try:
        invocation = understand(text, deps.ctx)
    except FracasError as exc:
        await ack()
        await _tell(respond, exc.message, exc.hint)
        return
    asker = _asker(body)
    order = CommandOrder(
        **asker,
        text=invocation.text,
        origin=f"`/fracas {escape(invocation.text)}` · {how} by <@{asker['user']}>",
    )
    await _enqueue_click(deps, ack, respond, COMMAND, order, body, order.text)


async def _enqueue_click(
    deps: Deps,
    ack: AsyncAck,
    respond: AsyncRespond,
    kind: str,
    order: BaseModel,
    body: dict[str, Any],
    summary: str,
) -> None:
    """A button's job, then the ack; a store that cannot take it is told to the clicker."""
    user = (body.get("user") or {}).get("id", "")
    try:
        await deps.enqueue(kind, order, idempotency_key(body), user, summary)
    except FracasError as exc:
        await ack()
        await _tell(respond, exc.message, exc.hint)
        return
    await ack()


async def _tell(respond: AsyncRespond, message: str, hint: str = "") -> None:
    """A refusal only the clicker sees, through the click's response_url."""
    await respond(response_type="ephemeral", **render_problem(message, hint).payload())


def _asker(body: dict[str, Any]) -> dict[str, str]:
    """Who clicked, in which channel, and where to answer them: an order's first fields."""
    user = str((body.get("user") or {}).get("id", ""))
    return {"channel": _channel(body), "user": user, "response_url": body.get("response_url", "")}


def _log_commands(value: object) -> list[str]:
    """The Full logs button's value: a JSON list of command lines (see present/slack.py)."""
    try:
        return _COMMANDS.validate_json(str(value or ""))
    except ValidationError:
        return []


def _channel(body: dict[str, Any]) -> str:
    return str((body.get("channel") or {}).get("id") or body["container"]["channel_id"])
