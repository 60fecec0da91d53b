"""Socket Mode (reference/slack-platform.md §7): the websocket apps.connections.open points to,
its hello, envelopes sent down it and the acks that come back."""

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
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": payload,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
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
