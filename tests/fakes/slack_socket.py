"""Socket Mode (reference/slack-platform.md §7): the websocket apps.connections.open points to,
its hello, envelopes (slash commands, Events API deliveries) sent down it and the acks that
come back."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid

from aiohttp import WSCloseCode, WSMsgType, web

from bot.sandbox.loopback import LoopbackServer

from .slack_http import maybe_json
from .slack_workspace import APP_ID, Json


class SlackSocket(LoopbackServer):
    """The Socket Mode end of the fake; its sockets and ack waiters live on the fake's loop."""

    def __init__(self) -> None:
        super().__init__()
        self._sockets: list[web.WebSocketResponse] = []  # touched only on the fake's loop
        self._acks: dict[str, asyncio.Future[Json]] = {}

    async def before_cleanup(self) -> None:
        for waiter in self._acks.values():
            waiter.cancel()
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake shutting down")

    def _ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/link"

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
        ack = maybe_json(data)
        waiter = self._acks.pop(ack.get("envelope_id", ""), None) if isinstance(ack, dict) else None
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    def _deliver_slash(
        self, payload: Json, timeout: float, retry_attempt: int = 0
    ) -> concurrent.futures.Future[Json]:
        """Send a slash command down the newest socket; resolves to the ack's payload. A
        redelivery carries `retry_attempt` and `retry_reason`, as Slack's envelopes do."""
        envelope = _envelope("slash_commands", payload, retry_attempt, accepts_payload=True)
        return self.on_loop(self._deliver(envelope, timeout))

    def _deliver_event(
        self, body: Json, timeout: float, retry_attempt: int = 0
    ) -> concurrent.futures.Future[Json]:
        """Send an event_callback body as an events_api envelope; resolves like a command."""
        envelope = _envelope("events_api", body, retry_attempt, accepts_payload=False)
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
            raise AssertionError(
                f"no ack for {_what(envelope)} ({envelope_id}) in {timeout}s"
            ) from None
        finally:
            self._acks.pop(envelope_id, None)
        return ack.get("payload") or {}


def _envelope(kind: str, payload: Json, retry_attempt: int, *, accepts_payload: bool) -> Json:
    return {
        "envelope_id": str(uuid.uuid4()),
        "type": kind,
        "accepts_response_payload": accepts_payload,
        "payload": payload,
        "retry_attempt": retry_attempt,
        "retry_reason": "timeout" if retry_attempt else "",
    }


def _what(envelope: Json) -> str:
    """How a timeout message names what was not acked."""
    payload = envelope["payload"]
    if envelope["type"] == "events_api":
        return f"event {payload.get('event', {}).get('type')!r}"
    return f"slash command {payload.get('text')!r}"
