"""Loopback stand-in for the Slack Web API, response_url webhooks and Socket Mode.

The aiohttp server runs on its own event loop in a daemon thread. That way sync tests,
async tests on any loop and subprocesses (through SLACK_API_URL) can all use it.
Behaviour follows /work/shared/reference/slack-platform.md, sections 4 to 7 and 9.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from .loopback import LoopbackServer

Json = dict[str, Any]
Reply = tuple[int, Json, dict[str, str]]  # HTTP status, JSON body, extra headers

TEAM_ID = "T0FAKE"
APP_ID = "A0FAKE"
BOT_USER_ID = "U0FRACAS"
BOT_ID = "B0FRACAS"
CALLER_ID = "U0CALLER"
INCIDENTS_ID = "C0123456789"
SCOPES = "commands,chat:write,files:write,reactions:read,channels:manage"
MAX_TEXT = 40_000  # longer top-level text is truncated with a warning (reference §5)
JSON_ARGS = ("blocks", "files", "attachments")
BLOCK_TYPES = frozenset(
    {"section", "header", "context", "divider", "actions", "rich_text", "image", "markdown"}
)
AUTH_TEST = {
    "ok": True,
    "url": "https://fake.slack.com/",
    "team": "Fake",
    "user": "fracas",
    "team_id": TEAM_ID,
    "user_id": BOT_USER_ID,
    "bot_id": BOT_ID,
    "is_enterprise_install": False,
}


@dataclass
class Call:
    """One recorded request, so tests can assert on what was sent and what came back."""

    method: str  # API method, or "upload" / "response_url" for those endpoints
    args: Json
    token: str | None
    at: float  # time.monotonic() when the request arrived
    status: int
    response: Json


# --- Block Kit validation (reference §5) -------------------------------------------------


def block_errors(blocks: list[Any]) -> list[str]:
    """Slack-style `[ERROR] ... [json-pointer:...]` messages; empty when Slack would accept."""
    errors = _too_many(blocks, 50, "/blocks")
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"/blocks/{i}")
    return errors


def _too_many(items: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(items, list) and len(items) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{ptr}]"]
    return []


def _too_long(value: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{ptr}]"]
    return []


def _text_errors(obj: Any, limit: int, ptr: str, *, plain: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"[ERROR] must be an object [json-pointer:{ptr}]"]
    if plain and obj.get("type") != "plain_text":
        return [f"[ERROR] must be plain_text [json-pointer:{ptr}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{ptr}/text]"]
    return _too_long(text, limit, f"{ptr}/text")


def _element_errors(element: Any, ptr: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"[ERROR] must be an object [json-pointer:{ptr}]"]
    errors = _too_long(element.get("action_id"), 255, f"{ptr}/action_id")
    if element.get("type") == "button":
        errors += _text_errors(element.get("text"), 75, f"{ptr}/text", plain=True)
        errors += _too_long(element.get("value"), 2000, f"{ptr}/value")
    return errors


def _section_errors(block: Json, ptr: str) -> list[str]:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        return [f"[ERROR] must provide either text or fields [json-pointer:{ptr}]"]
    errors = [] if text is None else _text_errors(text, 3000, f"{ptr}/text")
    errors += _too_many(fields, 10, f"{ptr}/fields")
    for i, item in enumerate(fields or []):
        errors += _text_errors(item, 2000, f"{ptr}/fields/{i}")
    if "accessory" in block:
        errors += _element_errors(block["accessory"], f"{ptr}/accessory")
    return errors


def _actions_errors(block: Json, ptr: str) -> list[str]:
    elements = block.get("elements") or []
    errors = _too_many(elements, 25, f"{ptr}/elements")
    for i, element in enumerate(elements):
        errors += _element_errors(element, f"{ptr}/elements/{i}")
    return errors


_BLOCK_CHECKS: dict[str, Callable[[Json, str], list[str]]] = {
    "section": _section_errors,
    "header": lambda b, p: _text_errors(b.get("text"), 150, f"{p}/text", plain=True),
    "context": lambda b, p: _too_many(b.get("elements"), 10, f"{p}/elements"),
    "actions": _actions_errors,
    "markdown": lambda b, p: _too_long(b.get("text"), 12_000, f"{p}/text"),
}


def _block_errors(block: Any, ptr: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"[ERROR] must be an object [json-pointer:{ptr}]"]
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"[ERROR] unsupported block type: {kind} [json-pointer:{ptr}/type]"]
    errors = _too_long(block.get("block_id"), 255, f"{ptr}/block_id")
    check = _BLOCK_CHECKS.get(kind)
    return errors + (check(block, ptr) if check else [])


def _error(code: str, *messages: str) -> Json:
    body: Json = {"ok": False, "error": code}
    if messages:
        body["response_metadata"] = {"messages": list(messages)}
    return body


def _missing(args: Json, *keys: str) -> Json | None:
    absent = [f"[ERROR] missing required field: {k}" for k in keys if not args.get(k)]
    return _error("invalid_arguments", *absent) if absent else None


def _message_problem(args: Json) -> Json | None:
    """What Slack says about a message's text/blocks, or None when it would post it."""
    if not any(args.get(k) for k in ("text", "blocks", "attachments")):
        return _error("no_text")
    blocks = args.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return _error("invalid_blocks_format")
    errors = block_errors(blocks)
    return _error("invalid_blocks", *errors) if errors else None


def _truncated(args: Json) -> tuple[str, Json]:
    text = str(args.get("text") or "")
    if len(text) <= MAX_TEXT:
        return text, {}
    return text[:MAX_TEXT], {"response_metadata": {"warnings": ["message_truncated"]}}


# --- request parsing ---------------------------------------------------------------------


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # left as str so validation answers invalid_blocks_format


async def _read_args(request: web.Request) -> Json:
    """Query string + JSON or form body, with JSON-string blocks/files/attachments decoded."""
    args: Json = dict(request.query)
    if request.content_type == "application/json":
        raw = await request.text()
        body = _maybe_json(raw) if raw.strip() else {}
        args.update(body if isinstance(body, dict) else {})
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in JSON_ARGS:
        if isinstance(args.get(key), str):
            args[key] = _maybe_json(args[key])
    return args


async def _upload_bytes(request: web.Request) -> bytes:
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, web.BodyPartReader) and part.filename is not None:
            return bytes(await part.read())
    return b""


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def _webhook_reply(body: Any) -> Reply:
    """What Slack's response_url endpoint answers: text "ok", or 400 with the error."""
    if not isinstance(body, dict):
        return 400, _error("invalid_payload"), {}
    blocks = body.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        return 400, _error("invalid_blocks_format"), {}
    errors = block_errors(blocks or [])
    if errors:
        return 400, _error("invalid_blocks", *errors), {}
    return 200, {"ok": True, "text": "ok"}, {}


def _text_reply(reply: Reply) -> web.Response:
    status, body, headers = reply
    return web.Response(status=status, text=body.get("text") or body["error"], headers=headers)


# --- the fake ----------------------------------------------------------------------------


class FakeSlack(LoopbackServer):
    """Slack Web API + response_url + Socket Mode on 127.0.0.1, state kept for assertions."""

    def __init__(self, *, bot_token: str = "xoxb-fake", app_token: str = "xapp-fake") -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._calls: list[Call] = []
        self._responses: list[Json] = []
        self._messages: dict[str, list[Json]] = {}
        self._files: dict[str, Json] = {}
        self._channels: dict[str, Json] = {INCIDENTS_ID: _new_channel(INCIDENTS_ID, "incidents")}
        self._outside: set[str] = set()
        self._failures: dict[str, list[Reply]] = {}
        self._delays: dict[str, float] = {}
        self._sockets: list[web.WebSocketResponse] = []  # touched only on the fake's loop
        self._acks: dict[str, asyncio.Future[Json]] = {}
        self._methods: dict[str, Callable[[Json], Json]] = {
            "auth.test": lambda _: dict(AUTH_TEST),
            "apps.connections.open": lambda _: {"ok": True, "url": self._ws_url()},
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.create": self._create,
            "conversations.info": self._on_channel(lambda ch, _: None),
            "conversations.invite": self._on_channel(lambda ch, args: _missing(args, "users")),
            "conversations.join": self._on_channel(lambda ch, _: self._outside.discard(ch["id"])),
            "conversations.setTopic": self._on_channel(_set_topic),
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.upload": lambda _: _error("method_deprecated"),
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/api/{method}", self._api)
        app.router.add_route("POST", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{n}", self._response_url)
        app.router.add_get("/link", self._link)

    async def before_cleanup(self) -> None:
        for waiter in self._acks.values():
            waiter.cancel()
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake shutting down")

    # addresses

    @property
    def api_url(self) -> str:
        """Base URL for SLACK_API_URL / AsyncWebClient(base_url=...)."""
        return f"{self.url}/api/"

    @property
    def response_url(self) -> str:
        """A fixed default response_url; use new_response_url() to tell commands apart."""
        return f"{self.url}/response/0"

    def new_response_url(self) -> str:
        """A fresh response_url, so each command's replies can be told apart."""
        return f"{self.url}/response/{next(self._ids)}"

    def _ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/link"

    # test controls

    def set_not_in_channel(self, channel: str) -> None:
        """Make posts to `channel` fail with not_in_channel until conversations.join."""
        with self._lock:
            self._outside.add(self._channel_id(channel))

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str = "ratelimited",
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` and {"ok": false, error}."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            queue = self._failures.setdefault(method, [])
            queue += [(status, _error(error), dict(headers)) for _ in range(times)]

    def delay(self, method: str, seconds: float) -> None:
        """Hold every call of `method` for `seconds` before answering (slow-Slack tests)."""
        with self._lock:
            self._delays[method] = seconds

    # observations

    @property
    def calls(self) -> list[Call]:
        """Every request so far, in completion order (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one method, in completion order."""
        return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until `count` calls of `method` were answered (for bots in threads/processes)."""
        deadline = time.monotonic() + timeout
        while (found := self._reached(method, count, deadline, timeout)) is None:
            time.sleep(0.01)
        return found

    async def await_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """wait_for without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while (found := self._reached(method, count, deadline, timeout)) is None:
            await asyncio.sleep(0.01)
        return found

    def _reached(
        self, method: str, count: int, deadline: float, timeout: float
    ) -> list[Call] | None:
        found = self.calls_to(method)
        if len(found) >= count:
            return found
        if time.monotonic() < deadline:
            return None
        seen = [c.method for c in self.calls]
        raise AssertionError(
            f"wanted {count} {method} call(s) in {timeout}s, got {len(found)}; seen: {seen}"
        )

    def responses(self) -> list[Json]:
        """Bodies POSTed to response URLs, in order, as {"path", "body"}."""
        with self._lock:
            return list(self._responses)

    def messages(self, channel: str) -> list[Json]:
        """Messages stored in `channel` as they are now (after chat.update edits)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(self._channel_id(channel), [])]

    @property
    def files(self) -> dict[str, Json]:
        """file_id -> filename, title, content (bytes), channel_id, thread_ts, initial_comment."""
        with self._lock:
            return {file_id: dict(entry) for file_id, entry in self._files.items()}

    # HTTP endpoints

    async def _handle(
        self, method: str, args: Json, token: str | None, answer: Callable[[], Reply]
    ) -> Reply:
        at = time.monotonic()
        with self._lock:
            pause = self._delays.get(method, 0.0)
        if pause:
            await asyncio.sleep(pause)
        with self._lock:
            queue = self._failures.get(method)
            injected = queue.pop(0) if queue else None
        reply = injected or answer()
        with self._lock:
            self._calls.append(Call(method, args, token, at, reply[0], reply[1]))
        return reply

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        arg_token = args.pop("token", None)
        token = _bearer(request) or arg_token
        status, body, headers = await self._handle(
            method, args, token, lambda: self._answer(method, args, token)
        )
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, args: Json, token: str | None) -> Reply:
        problem = self._auth_error(method, token)
        if problem:
            return 200, _error(problem), {}
        with self._lock:
            body = self._methods.get(method, lambda _: {"ok": True})(args)
        return 200, body, {"x-oauth-scopes": SCOPES} if method == "auth.test" else {}

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token not in (self.bot_token, self.app_token):
            return "invalid_auth"
        if (token == self.app_token) != (method == "apps.connections.open"):
            return "not_allowed_token_type"
        return None

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = await _upload_bytes(request)

        def answer() -> Reply:
            with self._lock:
                entry = self._files.get(file_id)
                if entry is None:
                    return 404, _error("file_not_found"), {}
                entry["content"] = content
            return 200, {"ok": True, "text": f"OK - {len(content)}"}, {}

        args = {"file_id": file_id, "length": len(content)}
        return _text_reply(await self._handle("upload", args, None, answer))

    async def _response_url(self, request: web.Request) -> web.Response:
        body = _maybe_json(await request.text())
        args = body if isinstance(body, dict) else {"raw": body}

        def answer() -> Reply:
            with self._lock:
                self._responses.append({"path": request.path, "body": args})
            return _webhook_reply(body)

        return _text_reply(await self._handle("response_url", args, None, answer))

    # Web API methods (called with self._lock held)

    def _next_ts(self) -> str:
        n = next(self._ids)
        return f"{1_700_000_000 + n // 10_000}.{n % 10_000 * 100:06d}"

    def _channel_id(self, channel: Any) -> str:
        name = str(channel or "")
        if name.startswith("#"):
            found = [cid for cid, ch in self._channels.items() if ch["name"] == name[1:]]
            return found[0] if found else name
        return name

    def _channel_problem(self, channel: str) -> Json | None:
        if not channel:
            return _error("channel_not_found")
        return _error("not_in_channel") if channel in self._outside else None

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
        stored = self._messages.get(channel, [])
        message = next((m for m in stored if m["ts"] == args.get("ts")), None)
        if message is None:
            return _error("message_not_found")
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
        problem = self._channel_problem(channel) or _missing(args, "user") or _message_problem(args)
        if problem:
            return problem
        return {"ok": True, "message_ts": self._next_ts(), **_truncated(args)[1]}

    def _create(self, args: Json) -> Json:
        name = str(args.get("name") or "")
        if not name:
            return _error("invalid_name_required")
        if any(ch["name"] == name for ch in self._channels.values()):
            return _error("name_taken")
        channel = _new_channel(f"C0FAKE{next(self._ids):05d}", name)
        self._channels[channel["id"]] = channel
        return self._channel_reply(channel)

    def _on_channel(self, act: Callable[[Json, Json], Json | None]) -> Callable[[Json], Json]:
        """A conversations.* handler: find the channel, apply `act`, answer the channel."""

        def handler(args: Json) -> Json:
            channel = self._channels.get(self._channel_id(args.get("channel")))
            if channel is None:
                return _error("channel_not_found")
            return act(channel, args) or self._channel_reply(channel)

        return handler

    def _channel_reply(self, channel: Json) -> Json:
        view = {
            **channel,
            "topic": dict(channel["topic"]),
            "is_member": channel["id"] not in self._outside,
        }
        return {"ok": True, "channel": view}

    def _get_upload_url(self, args: Json) -> Json:
        problem = _missing(args, "filename", "length")
        if problem:
            return problem
        file_id = f"F0FAKE{next(self._ids):05d}"
        unset = dict.fromkeys(("title", "channel_id", "thread_ts", "initial_comment"))
        self._files[file_id] = {"filename": args["filename"], "content": b"", **unset}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: Json) -> Json:
        entries = args.get("files")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return _error("invalid_arguments", "[ERROR] files must be a JSON array of objects")
        if not entries or any(e.get("id") not in self._files for e in entries):
            return _error("file_not_found")
        channel = self._channel_id(
            args.get("channel_id") or str(args.get("channels", "")).split(",")[0]
        )
        if channel in self._outside:
            return _error("not_in_channel")
        done = []
        for entry in entries:
            stored = self._files[entry["id"]]
            stored.update(
                title=entry.get("title") or stored["filename"],
                channel_id=channel or None,
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
            done.append({"id": entry["id"], "title": stored["title"], "name": stored["filename"]})
        return {"ok": True, "files": done}

    # Socket Mode (reference §7)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)  # close handshake
        await ws.prepare(request)
        self._sockets.append(ws)
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {
                        "host": "fake-slack",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_ack(msg.data)
        finally:
            self._sockets.remove(ws)
        return ws

    def _on_ack(self, data: str) -> None:
        ack = _maybe_json(data)
        waiter = self._acks.pop(ack.get("envelope_id", ""), None) if isinstance(ack, dict) else None
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    async def socket_slash_command(
        self,
        text: str,
        *,
        user_id: str = CALLER_ID,
        channel_id: str = INCIDENTS_ID,
        timeout: float = 5.0,
    ) -> Json:
        """Send `/fracas text` over Socket Mode; return the ack's payload ({} when none)."""
        return await asyncio.wrap_future(self._submit_slash(text, user_id, channel_id, timeout))

    def _submit_slash(
        self, text: str, user_id: str, channel_id: str, timeout: float
    ) -> concurrent.futures.Future[Json]:
        with self._lock:
            channel = self._channels.get(channel_id)
        payload = slash_command_fields(
            text,
            response_url=self.new_response_url(),
            user_id=user_id,
            channel_id=channel_id,
            channel_name=channel["name"] if channel else "fake-channel",
        )
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": payload,
        }
        return self.on_loop(self._deliver(envelope, timeout))

    async def _deliver(self, envelope: Json, timeout: float) -> Json:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._sockets:
            if loop.time() >= deadline:
                raise AssertionError(
                    f"no Socket Mode client connected to {self._ws_url()} in {timeout}s"
                )
            await asyncio.sleep(0.01)
        envelope_id = envelope["envelope_id"]
        self._acks[envelope_id] = waiter = loop.create_future()
        try:
            await self._sockets[-1].send_json(envelope)
            ack = await asyncio.wait_for(waiter, max(deadline - loop.time(), 0.01))
        except TimeoutError:
            text = envelope["payload"]["text"]
            raise AssertionError(
                f"no ack for slash command {text!r} ({envelope_id}) in {timeout}s"
            ) from None
        finally:
            self._acks.pop(envelope_id, None)
        return ack.get("payload") or {}


def _new_channel(channel_id: str, name: str) -> Json:
    return {"id": channel_id, "name": name, "is_channel": True, "topic": {"value": ""}}


def _set_topic(channel: Json, args: Json) -> None:
    channel["topic"] = {"value": str(args.get("topic") or ""), "creator": BOT_USER_ID}


# --- HTTP-mode request helpers (reference §1, §2) -----------------------------------------


def signed_headers(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with `body`, v0-signed with `secret` (reference §2)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def slash_command_fields(
    text: str,
    *,
    response_url: str,
    user_id: str = CALLER_ID,
    channel_id: str = INCIDENTS_ID,
    channel_name: str = "incidents",
    command: str = "/fracas",
) -> dict[str, str]:
    """The slash-command fields of reference §1, as Slack would fill them in."""
    return {
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": "caller",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{time.time_ns() % 10**11}.{TEAM_ID}.{uuid.uuid4().hex[:21]}",
    }


def slash_command_body(text: str, *, response_url: str, **fields: str) -> str:
    """Raw form-encoded slash-command body, ready for signed_headers()."""
    return urlencode(slash_command_fields(text, response_url=response_url, **fields))
