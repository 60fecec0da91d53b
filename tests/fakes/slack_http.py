"""Slack's wire conventions (reference/slack-platform.md §4, §6): `{"ok": false, "error"}`
bodies, arguments from query, JSON or form, bearer tokens, and what response_url answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .slack_blocks import block_errors
from .slack_workspace import Json

Reply = tuple[int, Json, dict[str, str]]  # HTTP status, JSON body, extra headers
Method = Callable[[Json], Json]  # a Web API method: arguments in, response body out

JSON_ARGS = ("blocks", "files", "attachments")


def error_body(code: str, *messages: str) -> Json:
    body: Json = {"ok": False, "error": code}
    if messages:
        body["response_metadata"] = {"messages": list(messages)}
    return body


def missing(args: Json, *keys: str) -> Json | None:
    absent = [f"[ERROR] missing required field: {k}" for k in keys if not args.get(k)]
    return error_body("invalid_arguments", *absent) if absent else None


def maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # left as str so validation answers invalid_blocks_format


async def read_args(request: web.Request) -> Json:
    """Query string + JSON or form body, with JSON-string blocks/files/attachments decoded."""
    args: Json = dict(request.query)
    if request.content_type == "application/json":
        raw = await request.text()
        body = maybe_json(raw) if raw.strip() else {}
        args.update(body if isinstance(body, dict) else {})
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in JSON_ARGS:
        if isinstance(args.get(key), str):
            args[key] = maybe_json(args[key])
    return args


def bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def webhook_reply(body: Any) -> Reply:
    """What Slack's response_url endpoint answers: text "ok", or 400 with the error."""
    if not isinstance(body, dict):
        return 400, error_body("invalid_payload"), {}
    blocks = body.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        return 400, error_body("invalid_blocks_format"), {}
    errors = block_errors(blocks or [])
    if errors:
        return 400, error_body("invalid_blocks", *errors), {}
    return 200, {"ok": True, "text": "ok"}, {}


def text_reply(reply: Reply) -> web.Response:
    status, body, headers = reply
    return web.Response(status=status, text=body.get("text") or body["error"], headers=headers)
