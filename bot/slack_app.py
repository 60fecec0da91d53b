"""The Slack door: parse, ack at once, run in the background, post the result. Nothing else."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from pydantic import TypeAdapter, ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import Invocation
from bot.core import failure_text, perform, understand
from bot.errors import FracasError
from bot.present.slack import (
    FULL_LOGS,
    RERUN,
    SlackMessage,
    escape,
    render_post,
    render_problem,
    render_reply,
)
from bot.slack_client import SlackPoster
from bot.slack_live import LiveMessage
from bot.wiring import Deps

log = logging.getLogger(__name__)

UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived"}
_COMMANDS: TypeAdapter[list[str]] = TypeAdapter(list[str])


def build_app(deps: Deps, client: AsyncWebClient, poster: SlackPoster) -> AsyncApp:
    """Bolt app with every listener registered; Socket Mode skips request signing.

    `process_before_response`: our listeners only parse, answer instant commands and spawn the
    rest, so bolt can send the ack as soon as the listener returns instead of polling for it
    every 10 ms from a separate task (which is most of a bare bolt app's ack time).
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
    register(app, deps, poster)
    return app


def _client_wins(record: logging.LogRecord) -> bool:
    """Bolt warns that SLACK_BOT_TOKEN is unused when a client is given; ours carries it."""
    return "`token` will be unused" not in record.getMessage()


def register(app: AsyncApp, deps: Deps, poster: SlackPoster) -> None:
    """Every Slack listener, in one place."""

    @app.event("reaction_added")
    async def reaction_added() -> None:
        """Acknowledged so Slack keeps the subscription the manifest asks for; reactions are
        read once the incident timeline lands."""

    @app.command("/fracas")
    async def fracas(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
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
        await ack(
            text=f":hourglass_flowing_sand: Working on `{invocation.text}`…",
            response_type="ephemeral",
        )
        origin = f"`/fracas {escape(invocation.text)}` · <@{command.get('user_id', '')}>"
        deps.background.spawn(
            _run_and_post(deps, poster, invocation, command["channel_id"], origin, respond),
            name=f"fracas {invocation.text}",
        )

    @app.action(RERUN)
    async def rerun(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Run the report's command again: a new message, so the first one stays as evidence."""
        await ack()
        text = str(body["actions"][0].get("value", ""))
        try:
            invocation = understand(text, deps.ctx)
        except FracasError as exc:
            await _tell(respond, render_problem(exc.message, exc.hint))
            return
        user = (body.get("user") or {}).get("id", "")
        origin = f"`/fracas {escape(invocation.text)}` · rerun by <@{user}>"
        deps.background.spawn(
            _run_and_post(deps, poster, invocation, _channel(body), origin, respond),
            name=f"fracas rerun {invocation.text}",
        )

    @app.action(FULL_LOGS)
    async def full_logs(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Each log step of the run, fetched again whole and attached to the report's thread."""
        await ack()
        commands = _log_commands(body["actions"][0].get("value"))
        if not commands:
            await _tell(respond, render_problem("That button carries no log commands."))
            return
        thread = (body.get("container") or {}).get("message_ts") or body["message"]["ts"]
        deps.background.spawn(
            _attach_logs(deps, poster, commands, _channel(body), thread, respond),
            name="fracas full logs",
        )


def _log_commands(value: object) -> list[str]:
    """The Full logs button's value: a JSON list of command lines (see present/slack.py)."""
    try:
        return _COMMANDS.validate_json(str(value or ""))
    except ValidationError:
        return []


def _channel(body: dict[str, Any]) -> str:
    return str((body.get("channel") or {}).get("id") or body["container"]["channel_id"])


async def _attach_logs(
    deps: Deps,
    poster: SlackPoster,
    commands: list[str],
    channel: str,
    thread: str,
    respond: AsyncRespond,
) -> None:
    """Each command's log window, uploaded to the thread. A button's value can be forged, so
    what is said back names the command as redacted, like every other answer."""
    for text in commands:
        shown = deps.ctx.redactor.text(text)
        try:
            invocation = understand(text, deps.ctx)
            if invocation.action.name != "logs":
                raise FracasError(f"`{invocation.text}` is not a logs command.")
            result = await perform(invocation, deps.ctx)
            steps = getattr(result, "steps", (result,))
            for attachment in (a for step in steps for a in step.attachments):
                await poster.upload(channel, thread, attachment)
        except Exception as exc:
            await _tell(respond, render_problem(failure_text(exc, shown)))


async def _run_and_post(
    deps: Deps,
    poster: SlackPoster,
    invocation: Invocation,
    channel: str,
    origin: str,
    respond: AsyncRespond,
) -> None:
    """Run, then post; a live action (a runbook) posts at once and edits as it goes."""
    live = None
    ctx = deps.ctx
    if invocation.action.live:
        live = LiveMessage(poster, channel, origin, deps.ctx.redactor)
        ctx = dataclasses.replace(ctx, progress=live.changed)
        live.start()
    try:
        result = await perform(invocation, ctx)
    except Exception as exc:
        if live is not None:
            await live.abandon()
        await _tell(respond, render_problem(failure_text(exc, invocation.text)))
        return
    post = render_post(result, origin, rerun=invocation.text if live else "")
    try:
        await (live.finish(post) if live is not None else poster.post(channel, post))
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        log.warning("posting to %s failed: %s", channel, error)
        if error in UNREACHABLE:
            await respond(response_type="in_channel", **post.main.payload())
            hint = "Invite me with `/invite @fracas` to get the details thread and files."
            await _tell(respond, render_problem(f"I cannot post in this channel ({error}).", hint))
        else:
            await _tell(respond, render_reply(result, origin))
            await _tell(respond, render_problem(f"Slack refused the full post ({error})."))


async def _tell(respond: AsyncRespond, message: SlackMessage) -> None:
    """An ephemeral answer through response_url, which works even where the bot is no member."""
    await respond(response_type="ephemeral", **message.payload())
