"""Loopback stand-in for the Slack Web API, response_url webhooks and Socket Mode.

The aiohttp server runs on its own event loop in a daemon thread. That way sync tests,
async tests on any loop and subprocesses (through SLACK_API_URL) can all use it.
Behaviour follows /work/shared/reference/slack-platform.md, sections 4 to 7 and 9.
This module is the front: routes, auth, scopes, recorded calls and injected failures; the
channels, reactions and pins, files, Socket Mode, Block Kit, scope table and slash-command and
event parts live in the slack_*.py beside it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from .slack_blocks import block_errors
from .slack_commands import (
    event_headers,
    signed_headers,
    slash_command_body,
    slash_command_fields,
)
from .slack_files import SlackFiles, upload_bytes
from .slack_http import (
    Method,
    Reply,
    bearer,
    error_body,
    maybe_json,
    read_args,
    text_reply,
    webhook_reply,
)
from .slack_reactions import SlackReactions
from .slack_scopes import scope_error
from .slack_socket import SlackSocket
from .slack_workspace import AUTH_TEST, CALLER_ID, INCIDENTS_ID, SCOPES, Json

__all__ = [
    "Call",
    "FakeSlack",
    "block_errors",
    "event_headers",
    "signed_headers",
    "slash_command_body",
]


@dataclass
class Call:
    """One recorded request, so tests can assert on what was sent and what came back."""

    method: str  # API method, or "upload" / "response_url" for those endpoints
    args: Json
    token: str | None
    at: float  # time.monotonic() when the request arrived
    status: int
    response: Json


class FakeSlack(SlackReactions, SlackFiles, SlackSocket):
    """Slack Web API + response_url + Socket Mode on 127.0.0.1, state kept for assertions."""

    def __init__(self, *, bot_token: str = "xoxb-fake", app_token: str = "xapp-fake") -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self._calls: list[Call] = []
        self._responses: list[Json] = []
        self._failures: dict[str, list[Reply]] = {}
        self._delays: dict[str, float] = {}
        self._scopes = SCOPES.split(",")  # what the installed app was granted
        self._methods: dict[str, Method] = {
            "auth.test": lambda _: dict(AUTH_TEST),
            "apps.connections.open": lambda _: {"ok": True, "url": self._ws_url()},
            **self._channel_methods(),
            **self._reaction_methods(),
            **self._file_methods(),
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/api/{method}", self._api)
        app.router.add_route("POST", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{n}", self._response_url)
        app.router.add_get("/link", self._link)

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

    # test controls

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
            queue += [(status, error_body(error), dict(headers)) for _ in range(times)]

    def refuse_next(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 200 {"ok": false, error}, the
        way Slack refuses (restricted_action, is_archived), not a 429 the SDK might retry."""
        self.fail_next(method, status=200, retry_after=None, error=error, times=times)

    def revoke(self, scope: str) -> None:
        """Take `scope` from the app: methods needing it answer missing_scope, and auth.test's
        x-oauth-scopes no longer lists it."""
        with self._lock:
            self._scopes = [s for s in self._scopes if s != scope]

    def grant(self, scope: str) -> None:
        """Give the app `scope` (one its manifest does not ask for, e.g. reactions:write)."""
        with self._lock:
            if scope not in self._scopes:
                self._scopes.append(scope)

    @property
    def scopes(self) -> list[str]:
        """The scopes the app holds now, in auth.test's order."""
        with self._lock:
            return list(self._scopes)

    def delay(self, method: str, seconds: float) -> None:
        """Hold every call of `method` for `seconds` before answering (slow-Slack tests)."""
        with self._lock:
            self._delays[method] = seconds

    async def socket_slash_command(
        self,
        text: str,
        *,
        user_id: str = CALLER_ID,
        channel_id: str = INCIDENTS_ID,
        timeout: float = 5.0,
        trigger_id: str = "",
        retry_attempt: int = 0,
    ) -> Json:
        """Send `/fracas text` over Socket Mode; return the ack's payload ({} when none). The
        same `trigger_id` with a `retry_attempt` is Slack redelivering that envelope."""
        future = self._submit_slash(text, user_id, channel_id, timeout, trigger_id, retry_attempt)
        return await asyncio.wrap_future(future)

    async def socket_event(
        self, body: Json, retry_attempt: int = 0, *, timeout: float = 5.0
    ) -> Json:
        """Send an event_callback `body` (from react/unreact) over Socket Mode as an events_api
        envelope; returns the ack's payload ({} when none)."""
        return await asyncio.wrap_future(self._deliver_event(body, timeout, retry_attempt))

    def _submit_slash(
        self,
        text: str,
        user_id: str,
        channel_id: str,
        timeout: float,
        trigger_id: str,
        retry_attempt: int,
    ) -> concurrent.futures.Future[Json]:
        with self._lock:
            channel = self._channels.get(channel_id)
        payload = slash_command_fields(
            text,
            response_url=self.new_response_url(),
            user_id=user_id,
            channel_id=channel_id,
            channel_name=channel["name"] if channel else "fake-channel",
            trigger_id=trigger_id,
        )
        return self._deliver_slash(payload, timeout, retry_attempt)

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
        args = await read_args(request)
        arg_token = args.pop("token", None)
        token = bearer(request) or arg_token
        status, body, headers = await self._handle(
            method, args, token, lambda: self._answer(method, args, token)
        )
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, args: Json, token: str | None) -> Reply:
        problem = self._auth_error(method, token)
        if problem:
            return 200, error_body(problem), {}
        with self._lock:
            refused = scope_error(method, args, self._scopes)
            body = refused or self._methods.get(method, lambda _: {"ok": True})(args)
            scopes = ",".join(self._scopes)
        return 200, body, {"x-oauth-scopes": scopes} if method == "auth.test" else {}

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
        content = await upload_bytes(request)
        args = {"file_id": file_id, "length": len(content)}
        store = functools.partial(self._store_upload, file_id, content)
        return text_reply(await self._handle("upload", args, None, store))

    async def _response_url(self, request: web.Request) -> web.Response:
        body = maybe_json(await request.text())
        args = body if isinstance(body, dict) else {"raw": body}

        def answer() -> Reply:
            with self._lock:
                self._responses.append({"path": request.path, "body": args})
            return webhook_reply(body)

        return text_reply(await self._handle("response_url", args, None, answer))
