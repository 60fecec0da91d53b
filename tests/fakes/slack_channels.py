"""The chat.* and conversations.* Web API methods over the channels, members and messages they
keep (reference/slack-platform.md §4, §5), for FakeSlack to dispatch to."""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from .slack_blocks import block_errors
from .slack_http import Method, error_body, missing
from .slack_workspace import BOT_ID, BOT_USER_ID, CALLER_ID, INCIDENTS_ID, Json

MAX_TEXT = 40_000  # longer top-level text is truncated with a warning (reference §5)
MAX_NAME = 80  # channel names: lowercase letters, digits, hyphens, underscores (slack-api-ref)
NAME_CHARS = re.compile(r"[a-z0-9_-]+")
USER_ID = re.compile(r"[UW][A-Z0-9]+")


class SlackChannels:
    """Channels and messages, plus the lock and id counter all of FakeSlack shares; the Web API
    handlers below run with that lock held."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._last_ts = 0
        self._messages: dict[str, list[Json]] = {}
        self._channels: dict[str, Json] = {INCIDENTS_ID: _new_channel(INCIDENTS_ID, "incidents")}
        self._members: dict[str, set[str]] = {INCIDENTS_ID: {BOT_USER_ID, CALLER_ID}}
        self._outside: set[str] = set()

    def set_not_in_channel(self, channel: str) -> None:
        """Make posts to `channel` fail with not_in_channel until conversations.join."""
        with self._lock:
            channel_id = self._channel_id(channel)
            self._outside.add(channel_id)
            self._members.get(channel_id, set()).discard(BOT_USER_ID)

    def messages(self, channel: str) -> list[Json]:
        """Messages stored in `channel` as they are now (after edits and reactions), copies."""
        with self._lock:
            return copy.deepcopy(self._messages.get(self._channel_id(channel), []))

    def members(self, channel: str) -> set[str]:
        """Who is in `channel`: its creator (the bot) and everyone conversations.invite added."""
        with self._lock:
            return set(self._members.get(self._channel_id(channel), set()))

    def _channel_methods(self) -> dict[str, Method]:
        """This part's entries in FakeSlack's method table."""
        return {
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.create": self._create,
            "conversations.info": self._on_channel(lambda ch, _: None),
            "conversations.invite": self._on_channel(self._invite),
            "conversations.join": self._on_channel(self._join),
            "conversations.setTopic": self._on_channel(_set_topic),
        }

    def _next_ts(self) -> str:
        """As Slack's: the time of posting to the microsecond, unique and increasing."""
        next(self._ids)
        micros = max(time.time_ns() // 1000, self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel_id(self, channel: Any) -> str:
        name = str(channel or "")
        if name.startswith("#"):
            found = [cid for cid, ch in self._channels.items() if ch["name"] == name[1:]]
            return found[0] if found else name
        return name

    def _known_channel(self, channel: str) -> bool:
        """Created (or the default) channel, or one something was posted to."""
        return channel in self._channels or channel in self._messages

    def _find_message(self, channel: str, ts: Any) -> Json | None:
        """A stored message or thread reply by its ts; the live dict, for edits."""
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _channel_problem(self, channel: str) -> Json | None:
        if not channel:
            return error_body("channel_not_found")
        return error_body("not_in_channel") if channel in self._outside else None

    def _post_message(self, args: Json) -> Json:
        channel = self._channel_id(args.get("channel"))
        problem = self._channel_problem(channel) or _message_problem(args)
        if problem:
            return problem
        text, warnings = _truncated(args)
        message = {
            "ts": self._next_ts(),
            "channel": channel,
            "text": text,
            "blocks": args.get("blocks"),
            "thread_ts": args.get("thread_ts"),
            "user": BOT_USER_ID,
        }
        self._messages.setdefault(channel, []).append(message)
        reply = {"type": "message", "bot_id": BOT_ID, **message}
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": reply, **warnings}

    def _update(self, args: Json) -> Json:
        channel = self._channel_id(args.get("channel"))
        message = self._find_message(channel, args.get("ts"))
        if message is None:
            return error_body("message_not_found")
        problem = _message_problem(args)
        if problem:
            return problem
        text, warnings = _truncated(args)
        message.update({"text": text} if "text" in args else {})
        message.update({"blocks": args["blocks"]} if "blocks" in args else {})
        reply = {"type": "message", "bot_id": BOT_ID, **message}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": reply,
            **warnings,
        }

    def _post_ephemeral(self, args: Json) -> Json:
        channel = self._channel_id(args.get("channel"))
        problem = self._channel_problem(channel) or missing(args, "user") or _message_problem(args)
        if problem:
            return problem
        return {"ok": True, "message_ts": self._next_ts(), **_truncated(args)[1]}

    def _create(self, args: Json) -> Json:
        name = str(args.get("name") or "")
        problem = _name_problem(name)
        if problem:
            return problem
        if any(ch["name"] == name for ch in self._channels.values()):
            return error_body("name_taken")
        channel = _new_channel(f"C0FAKE{next(self._ids):05d}", name)
        self._channels[channel["id"]] = channel
        self._members[channel["id"]] = {BOT_USER_ID}  # the creator is in the channel
        return self._channel_reply(channel)

    def _invite(self, channel: Json, args: Json) -> Json | None:
        """Add `users` (comma-separated) as Slack does: one bad id fails the whole call."""
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            return error_body("no_user")
        if channel["id"] in self._outside:
            return error_body("not_in_channel")
        members = self._members.setdefault(channel["id"], set())
        errors = [{"user": u, "ok": False, "error": e} for u in users if (e := _invitee_error(u))]
        if not errors and all(u in members for u in users):
            errors = [{"user": u, "ok": False, "error": "already_in_channel"} for u in users]
        if errors:
            return {"ok": False, "error": errors[0]["error"], "errors": errors}
        members.update(users)
        return None

    def _join(self, channel: Json, _: Json) -> None:
        self._outside.discard(channel["id"])
        self._members.setdefault(channel["id"], set()).add(BOT_USER_ID)

    def _on_channel(self, act: Callable[[Json, Json], Json | None]) -> Callable[[Json], Json]:
        """A conversations.* handler: find the channel, apply `act`, answer the channel."""

        def handler(args: Json) -> Json:
            channel = self._channels.get(self._channel_id(args.get("channel")))
            if channel is None:
                return error_body("channel_not_found")
            return act(channel, args) or self._channel_reply(channel)

        return handler

    def _channel_reply(self, channel: Json) -> Json:
        view = {
            **channel,
            "topic": dict(channel["topic"]),
            "is_member": channel["id"] not in self._outside,
        }
        return {"ok": True, "channel": view}


def _new_channel(channel_id: str, name: str) -> Json:
    return {"id": channel_id, "name": name, "is_channel": True, "topic": {"value": ""}}


def _name_problem(name: str) -> Json | None:
    """Slack's conversations.create name checks (slack-api-ref conversations.create errors)."""
    if not name:
        return error_body("invalid_name_required")
    if len(name) > MAX_NAME:
        return error_body("invalid_name_maxlength")
    if not NAME_CHARS.fullmatch(name):
        return error_body("invalid_name_specials")
    if not re.search(r"[a-z0-9]", name):
        return error_body("invalid_name_punctuation")
    return None


def _invitee_error(user: str) -> str | None:
    if user == BOT_USER_ID:
        return "cant_invite_self"
    return None if USER_ID.fullmatch(user) else "user_not_found"


def _set_topic(channel: Json, args: Json) -> None:
    channel["topic"] = {"value": str(args.get("topic") or ""), "creator": BOT_USER_ID}


def _message_problem(args: Json) -> Json | None:
    """What Slack says about a message's text/blocks, or None when it would post it."""
    if not any(args.get(k) for k in ("text", "blocks", "attachments")):
        return error_body("no_text")
    blocks = args.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return error_body("invalid_blocks_format")
    errors = block_errors(blocks)
    return error_body("invalid_blocks", *errors) if errors else None


def _truncated(args: Json) -> tuple[str, Json]:
    text = str(args.get("text") or "")
    if len(text) <= MAX_TEXT:
        return text, {}
    return text[:MAX_TEXT], {"response_metadata": {"warnings": ["message_truncated"]}}
