"""HTTP door: Slack events, health. Every route is registered here and nowhere else."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
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
        secret = deps.settings.slack_signing_secret
        verifier = SignatureVerifier(secret.get_secret_value() if secret else "-")

        async def slack_events(request: Request) -> Response:
            try:
                return await handler.handle(request)
            except ValueError as exc:  # bolt parses the body before it checks the signature
                if not verifier.is_valid_request(await request.body(), dict(request.headers)):
                    return JSONResponse({"error": "invalid request"}, status_code=401)
                return JSONResponse({"error": f"malformed body: {exc}"}, status_code=400)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)
