"""What a signed Slack request must look like before bolt sees it, so junk gets a 400 with a
reason instead of an exception inside bolt (a 500 with a traceback in our log)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

_COMMAND_FIELDS = ("command", "channel_id", "user_id")


def read(body: bytes, content_type: str) -> dict[str, Any] | str:
    """The body as Slack meant it, or why it is not a Slack request we can act on. Parsed
    here once, and handed to bolt as it is: bolt's own parser takes any form body with the
    word "payload" anywhere in it for an interaction, so `/fracas note the webhook payload
    was empty` reached bolt as an empty body and got a 404."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if content_type.startswith("application/json"):
        value = _object(text, "the body")
        return value if isinstance(value, str) else _json_problem(value) or value
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        value = _object(form["payload"], "payload")
        return value if isinstance(value, str) else _interaction_problem(value) or value
    if "command" in form:
        missing = [name for name in _COMMAND_FIELDS if not form.get(name)]
        return f"a slash command without {', '.join(missing)}" if missing else dict(form)
    return "neither a slash command, an interaction payload nor an event"


def _object(text: str, what: str) -> dict[str, Any] | str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{what} is not JSON ({exc.msg})"
    return value if isinstance(value, dict) else f"{what} is not a JSON object"


def _json_problem(value: dict[str, Any]) -> str | None:
    if not isinstance(value.get("type"), str):
        return "the body has no type"
    if value["type"] == "event_callback" and not isinstance(value.get("event"), dict):
        return "an event_callback whose event is not an object"
    return None


def _interaction_problem(value: dict[str, Any]) -> str | None:
    kind = value.get("type")
    if not isinstance(kind, str):
        return "payload has no type"
    if kind == "block_actions":
        actions = value.get("actions")
        if not (isinstance(actions, list) and actions and isinstance(actions[0], dict)):
            return "block_actions without actions"
        if not isinstance(value.get("user"), dict) or not _channel_of(value):
            return "block_actions without its user or channel"
    return None


def _channel_of(value: dict[str, Any]) -> bool:
    channel, container = value.get("channel"), value.get("container")
    return (isinstance(channel, dict) and isinstance(channel.get("id"), str)) or (
        isinstance(container, dict) and isinstance(container.get("channel_id"), str)
    )
