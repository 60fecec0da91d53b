"""What a worker does with the jobs Slack's listeners enqueue: run the command, post its result
in the channel (a runbook's one message edited as it goes), files in its thread.

Each Slack side effect is remembered in the job as soon as it is done (the message's ts, how
many thread parts went out), and the rendered post is stored before the first of them. So a
job interrupted by a restart goes on where it stopped: a run that had not finished runs once
more and edits its own "Working on" message, and a post half sent is finished, not repeated.
"""

from __future__ import annotations

import dataclasses
import logging

from pydantic import BaseModel, ConfigDict, TypeAdapter
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.actions.registry import ActionContext
from bot.core import failure_text, perform, understand
from bot.errors import FracasError
from bot.incidents.desk import refresh
from bot.incidents.room import Origin
from bot.present.slack import SlackMessage, SlackPost, render_post, render_problem
from bot.results import Attachment, Report
from bot.slack.client import SlackPoster
from bot.slack.live import LiveMessage
from bot.slack.pins import PIN, Pins
from bot.slack.room import SlackRoom
from bot.store.jobs import Job, Jobs
from bot.store.sealed import Sealer
from bot.work.command import Answer, answer, keep
from bot.work.worker import Handler

log = logging.getLogger(__name__)
COMMAND, LOGS = "slack.command", "slack.logs"
UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived"}
RAN_AGAIN = "interrupted by a restart, ran again"
UNSEALED = (
    "`{}` held a secret, kept sealed with a key from SLACK_BOT_TOKEN, and the token changed "
    "before it ran: run it again."
)
_POST: TypeAdapter[SlackPost] = TypeAdapter(SlackPost)


class _Order(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    user: str
    response_url: str  # ephemeral answers, even where the bot is not a member (30 min, 5 uses)


class CommandOrder(_Order):
    """`/fracas <text>` or its Rerun button. `text` is redacted; when redacting changed it,
    `sealed` holds the exact text, sealed (bot/store/sealed.py), to be run as typed."""

    text: str
    origin: str  # the line naming the command and who asked, as Slack shows it
    sealed: str = ""


class LogsOrder(_Order):
    """The Full logs button: each command's whole window, uploaded to the report's thread."""

    commands: list[str]
    thread: str


class SlackWork:
    def __init__(self, ctx: ActionContext, poster: SlackPoster, sealer: Sealer) -> None:
        self.ctx, self.poster, self.sealer = ctx, poster, sealer

    def handlers(self) -> dict[str, Handler]:
        return {COMMAND: self.command, LOGS: self.logs, PIN: Pins(self.ctx, self.poster).pin}

    async def command(self, job: Job, jobs: Jobs) -> None:
        order = CommandOrder.model_validate_json(job.payload)
        ts: str | None = job.progress.get("ts")
        if job.given_up:
            await self._given_up(order, ts, f"`{order.text}`")
            return
        room = SlackRoom(
            self.poster, await self.poster.workspace(), order.channel, order.response_url
        )
        ctx = dataclasses.replace(self.ctx, origin=Origin(order.user, order.channel, job.key, room))
        if job.progress.get("post") is None:
            reply = await self._run(job, jobs, order, ctx, ts)
            if reply is None:
                return
            ts = job.progress.get("ts")
            kept = await keep(ctx, reply, job.created_at)
            assert reply.result is not None
            post = render_post(reply.result, _origin(order, job), rerun=order.text)
            await jobs.remember(
                job,
                post=_POST.dump_python(post, mode="json"),
                kept=[kept.incident.number, *kept.keys] if kept else None,
            )
        else:
            post = _POST.validate_python(job.progress["post"])
        await self._deliver(job, jobs, order, post, ts)
        await self._linked(ctx, job, order.channel, room)
        await jobs.remember(job, post=None)

    async def _run(
        self, job: Job, jobs: Jobs, order: CommandOrder, ctx: ActionContext, ts: str | None
    ) -> Answer | None:
        """The command, followed live in the channel; None once a refusal was told."""

        async def posted(new_ts: str) -> None:
            await jobs.remember(job, ts=new_ts)

        live = LiveMessage(
            self.poster, order.channel, _origin(order, job), self.ctx.redactor, ts, posted
        )
        typed = self.sealer.unseal(order.sealed) if order.sealed else order.text
        if typed is None:
            await _tell(order, render_problem(UNSEALED.format(order.text)))
            return None
        live.start()
        try:
            reply = await answer(typed, ctx, live.changed)
        finally:  # also when a drain cancels the job: the live message stops with it
            ts = await _stopped(live, order.channel)
        if reply.result is not None:
            return reply
        await keep(ctx, reply, job.created_at)
        problem = render_problem(reply.message, reply.hint)
        if ts is not None:
            await self.poster.update(order.channel, ts, problem)
        await _tell(order, problem)
        return None

    async def _linked(self, ctx: ActionContext, job: Job, channel: str, room: SlackRoom) -> None:
        """The entries this command put on an incident's timeline point at its message now
        posted, and the incident's header shows them as the last findings."""
        kept, ts = job.progress.get("kept"), job.progress.get("ts")
        if not kept or ctx.incidents is None:
            return
        incident = await ctx.incidents.get(int(kept[0]))
        if incident is None:
            return
        if ts:
            await ctx.incidents.link(incident, kept[1:], room.link(channel, ts))
        await refresh(ctx.incidents, ctx.origin, incident)

    async def _deliver(
        self, job: Job, jobs: Jobs, order: _Order, post: SlackPost, ts: str | None
    ) -> None:
        """The main message (new, or the live one replaced), then each thread part once."""
        sent = int(job.progress.get("sent", 0))
        try:
            if sent == 0 and ts is None:
                ts = await self.poster.send(order.channel, post.main)
                await jobs.remember(job, ts=ts, sent=1)
            elif sent == 0 and ts is not None:
                await self.poster.update(order.channel, ts, post.main)
                await jobs.remember(job, sent=1)
        except SlackApiError as exc:
            await self._unreachable(order, post, exc)
            return
        assert ts is not None
        parts: list[SlackMessage | Attachment] = [*post.thread, *post.files]
        for index, part in enumerate(parts, start=1):
            if index < sent:
                continue
            if isinstance(part, Attachment):
                await self.poster.upload(order.channel, ts, part)
            else:
                await self.poster.send(order.channel, part, thread_ts=ts)
            await jobs.remember(job, sent=index + 1)

    async def _unreachable(self, order: _Order, post: SlackPost, exc: SlackApiError) -> None:
        error = str(exc.response.get("error", ""))
        log.warning("posting to %s failed: %s", order.channel, error)
        hook = AsyncWebhookClient(order.response_url)
        if error in UNREACHABLE:
            await hook.send(response_type="in_channel", **post.main.payload())
            hint = "Invite me with `/invite @fracas` to get the details thread and files."
            await _tell(order, render_problem(f"I cannot post in this channel ({error}).", hint))
        else:
            await _tell(order, post.main)
            await _tell(order, render_problem(f"Slack refused the full post ({error})."))

    async def logs(self, job: Job, jobs: Jobs) -> None:
        """Each log step's whole window, fetched again and attached to the report's thread. A
        button's value can be forged, so what is said back names the command as redacted."""
        order = LogsOrder.model_validate_json(job.payload)
        if job.given_up:
            await self._given_up(order, None, "Fetching the full logs")
            return
        for index, text in enumerate(order.commands):
            if index < int(job.progress.get("done", 0)):
                continue
            try:
                invocation = understand(text, self.ctx)
                if invocation.action.name != "logs":
                    raise FracasError(f"`{invocation.text}` is not a logs command.")
                result = await perform(invocation, self.ctx)
                steps = result.steps if isinstance(result, Report) else (result,)
                for attachment in (a for step in steps for a in step.attachments):
                    await self.poster.upload(order.channel, order.thread, attachment)
            except SlackApiError:
                raise
            except Exception as exc:
                await _tell(order, render_problem(failure_text(exc, self.ctx.redactor.text(text))))
            await jobs.remember(job, done=index + 1)

    async def _given_up(self, order: _Order, ts: str | None, what: str) -> None:
        """The last attempt was interrupted too: say so where the user looks, run nothing."""
        problem = render_problem(
            f"{what} was interrupted by restarts twice and was not run again.",
            "Run it again; `fracas jobs` lists what else was interrupted.",
        )
        if ts is not None:
            await self.poster.update(order.channel, ts, problem)
        await _tell(order, problem)


async def _stopped(live: LiveMessage, channel: str) -> str | None:
    """The live message's ts; None if its first post failed (delivery meets that again)."""
    try:
        return await live.stop()
    except SlackApiError as exc:
        log.info("could not post progress in %s: %s", channel, exc.response.get("error"))
        return None


def _origin(order: CommandOrder, job: Job) -> str:
    return f"{order.origin} · {RAN_AGAIN}" if job.rerun else order.origin


async def _tell(order: _Order, message: SlackMessage) -> None:
    """An ephemeral answer through response_url, which works even where the bot is no member."""
    await AsyncWebhookClient(order.response_url).send(
        response_type="ephemeral", **message.payload()
    )
