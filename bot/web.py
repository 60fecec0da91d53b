"""HTTP door: Slack events, health. Every route is registered here and nowhere else."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.wiring import Deps


def build_web(deps: Deps, slack: AsyncApp | None) -> Starlette:
    """`slack` is None in Socket Mode, where events arrive over the socket and are not signed."""

    async def healthz(_: Request) -> Response:
        mode = "socket" if deps.settings.socket_mode else "http"
        return JSONResponse({"ok": True, "mode": mode, "running": deps.background.running})

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack is not None:
        handler = AsyncSlackRequestHandler(slack)

        async def slack_events(request: Request) -> Response:
            return await handler.handle(request)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)
