"""Messages as people and integrations leave them, with reactions, pins and permalinks: the
test controls that play the humans (say, react, unreact) and the reactions.*, pins.* and
chat.getPermalink Web API methods, answered as slack-api-ref documents them and as the captures
in tests/data/slack/ show."""

from __future__ import annotations

import copy
import re
import time

from .slack_channels import SlackChannels
from .slack_commands import event_callback
from .slack_http import Method, error_body
from .slack_workspace import APP_ID, BOT_ID, BOT_USER_ID, CALLER_ID, TEAM_ID, Json

PERMALINK_BASE = "https://fake.slack.com/archives"  # auth.test's workspace url
TS = re.compile(r"\d+\.\d+")


class SlackReactions(SlackChannels):
    """Reactions live on the stored message (`reactions`, as Slack returns them); pins per
    channel. Handlers run with the shared lock held; the controls take it themselves."""

    def __init__(self) -> None:
        super().__init__()
        self._pins: dict[str, list[Json]] = {}  # channel -> [{ts, created, created_by}], in order
        self._event_ids = 0

    # test controls

    def say(
        self,
        channel: str,
        text: str,
        *,
        user: str | None = CALLER_ID,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        username: str = "Alertmanager",
    ) -> str:
        """Post `text` as a person, and return its ts. With `bot_id` and user=None it is an
        integration's post (webhook, Alertmanager): bot_message, `username`, no `user`."""
        if user is None and bot_id is None:
            raise ValueError("say() needs a user, or a bot_id for an integration's message")
        with self._lock:
            channel_id = self._channel_id(channel)
            if not self._known_channel(channel_id):
                raise ValueError(f"no channel {channel!r} in the fake")
            message: Json = {
                "ts": self._next_ts(),
                "channel": channel_id,
                "text": text,
                "blocks": None,
                "thread_ts": thread_ts,
            }
            if user is not None:
                message["user"] = user
            if bot_id is not None:
                message["bot_id"] = bot_id
            if user is None:
                message.update(subtype="bot_message", username=username)
            self._messages.setdefault(channel_id, []).append(message)
            return str(message["ts"])

    def react(self, channel: str, ts: str, name: str = "pushpin", user: str = CALLER_ID) -> Json:
        """`user` adds reaction `name` to a message; returns the reaction_added delivery."""
        return self._toggle(channel, ts, name, user, added=True)

    def unreact(self, channel: str, ts: str, name: str = "pushpin", user: str = CALLER_ID) -> Json:
        """`user` takes reaction `name` back; returns the reaction_removed delivery."""
        return self._toggle(channel, ts, name, user, added=False)

    def pinned(self, channel: str) -> list[str]:
        """ts of the messages pinned in `channel`, oldest pin first."""
        with self._lock:
            return [pin["ts"] for pin in self._pins.get(self._channel_id(channel), [])]

    def _toggle(self, channel: str, ts: str, name: str, user: str, *, added: bool) -> Json:
        with self._lock:
            channel_id = self._channel_id(channel)
            message = self._find_message(channel_id, ts)
            if message is None:
                raise ValueError(f"no message {ts} in {channel!r}")
            if not _change_reaction(message, name, user, added=added):
                state = "already reacted" if added else "has not reacted"
                raise ValueError(f"{user} {state} :{name}: on {ts}")
            event: Json = {
                "type": "reaction_added" if added else "reaction_removed",
                "user": user,
                "reaction": name,
                "item": {"type": "message", "channel": channel_id, "ts": ts},
                "event_ts": self._next_ts(),
            }
            if "user" in message:  # absent for integrations' posts, as Slack leaves it out
                event["item_user"] = message["user"]
            self._event_ids += 1
            event_id = f"Ev0FAKE{self._event_ids:05d}"
        return event_callback(event, event_id=event_id, channel=channel_id)

    # Web API methods

    def _reaction_methods(self) -> dict[str, Method]:
        """This part's entries in FakeSlack's method table."""
        return {
            "reactions.get": self._reactions_get,
            "reactions.add": lambda args: self._bot_reaction(args, added=True),
            "reactions.remove": lambda args: self._bot_reaction(args, added=False),
            "pins.add": self._pin,
            "pins.remove": self._unpin,
            "pins.list": self._pins_list,
            "chat.getPermalink": self._permalink_method,
        }

    def _target(
        self, args: Json, *, need_channel: str = "no_item_specified"
    ) -> Json | tuple[str, Json]:
        """(channel id, message) named by `channel` + `timestamp`, or Slack's error body."""
        channel = self._channel_id(args.get("channel"))
        ts = str(args.get("timestamp") or "")
        if not channel:
            return error_body(need_channel)
        if not ts:
            return error_body("no_item_specified")
        if not self._known_channel(channel):
            return error_body("channel_not_found")
        if not TS.fullmatch(ts):
            return error_body("bad_timestamp")
        message = self._find_message(channel, ts)
        return (channel, message) if message else error_body("message_not_found")

    def _reactions_get(self, args: Json) -> Json:
        found = self._target(args)
        if isinstance(found, dict):
            return found
        channel, message = found
        return {"ok": True, "type": "message", "channel": channel, "message": self._view(message)}

    def _bot_reaction(self, args: Json, *, added: bool) -> Json:
        found = self._target(args)
        if isinstance(found, dict):
            return found
        name = str(args.get("name") or "")
        if not name:
            return error_body("invalid_name")
        if not _change_reaction(found[1], name, BOT_USER_ID, added=added):
            return error_body("already_reacted" if added else "no_reaction")
        return {"ok": True}

    def _pin(self, args: Json) -> Json:
        found = self._target(args, need_channel="channel_not_found")
        if isinstance(found, dict):
            return found
        channel, message = found
        pins = self._pins.setdefault(channel, [])
        if any(pin["ts"] == message["ts"] for pin in pins):
            return error_body("already_pinned")
        pins.append({"ts": message["ts"], "created": int(time.time()), "created_by": BOT_USER_ID})
        return {"ok": True}

    def _unpin(self, args: Json) -> Json:
        found = self._target(args, need_channel="channel_not_found")
        if isinstance(found, dict):
            return found
        channel, message = found
        pins = self._pins.get(channel, [])
        kept = [pin for pin in pins if pin["ts"] != message["ts"]]
        if len(kept) == len(pins):
            return error_body("no_pin")
        self._pins[channel] = kept
        return {"ok": True}

    def _pins_list(self, args: Json) -> Json:
        channel = self._channel_id(args.get("channel"))
        if not self._known_channel(channel):
            return error_body("channel_not_found")
        items = []
        for pin in reversed(self._pins.get(channel, [])):  # newest pin first, as Slack lists
            message = self._find_message(channel, pin["ts"])
            if message is not None:
                item = {"type": "message", "channel": channel, "message": self._view(message)}
                items.append({**item, "created": pin["created"], "created_by": pin["created_by"]})
        return {"ok": True, "items": items}

    def _permalink_method(self, args: Json) -> Json:
        channel = self._channel_id(args.get("channel"))
        if not self._known_channel(channel):
            return error_body("channel_not_found")
        message = self._find_message(channel, args.get("message_ts"))
        if message is None:
            return error_body("message_not_found")
        return {"ok": True, "channel": channel, "permalink": _permalink(message)}

    def _view(self, message: Json) -> Json:
        """A stored message as the Web API shows it (reactions.get, pins.list)."""
        view: Json = {"type": "message", "text": message["text"], "ts": message["ts"]}
        user = message.get("user")
        if user is not None:
            view.update(user=user, team=TEAM_ID)
        if user == BOT_USER_ID:
            view.update(bot_id=BOT_ID, app_id=APP_ID)
        for key in ("bot_id", "subtype", "username", "blocks", "thread_ts"):
            if message.get(key):
                view[key] = copy.deepcopy(message[key])
        if message.get("reactions"):
            view["reactions"] = copy.deepcopy(message["reactions"])
        if any(pin["ts"] == message["ts"] for pin in self._pins.get(message["channel"], [])):
            view["pinned_to"] = [message["channel"]]
        view["permalink"] = _permalink(message)
        return view


def _change_reaction(message: Json, name: str, user: str, *, added: bool) -> bool:
    """Add or take back `user`'s `name` in the message's reactions; False when nothing to do.
    Slack lists reactions in the order first given and drops the empty ones."""
    reactions: list[Json] = message.get("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if (entry is not None and user in entry["users"]) == added:
        return False
    if entry is None:
        entry = {"name": name, "users": [], "count": 0}
        reactions = [*reactions, entry]
    if added:
        entry["users"].append(user)
    else:
        entry["users"].remove(user)
    entry["count"] = len(entry["users"])
    kept = [r for r in reactions if r["count"]]
    if kept:
        message["reactions"] = kept
    else:
        message.pop("reactions", None)
    return True


def _permalink(message: Json) -> str:
    """Slack's permalink form; a thread reply's names its thread (slack-api-ref
    chat.getPermalink success_with_thread)."""
    channel, ts = message["channel"], str(message["ts"])
    link = f"{PERMALINK_BASE}/{channel}/p{ts.replace('.', '')}"
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link
