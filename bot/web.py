"""HTTP door: Slack events, and health (503 when the store or every worker is gone). Every
route is registered here and nowhere else.

A stranger can send anything here, so the Slack route reads at most MAX_BODY bytes, checks the
signature itself (bolt would log a refused body, secrets and all), then the shape
(`bot/slack/shapes.py`), and only then hands the request to bolt. No input gets a 5xx.
"""

from __future__ import annotations

import logging
import secrets

from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.slack.shapes import read
from bot.store.health import bot_health
from bot.wiring import Deps

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # Slack's payloads are far smaller; a bigger body is refused with 413


def build_web(deps: Deps, slack: AsyncApp | None) -> Starlette:
    """`slack` is None in Socket Mode, where events arrive over the socket and are not signed."""

    async def healthz(_: Request) -> Response:
        mode = "socket" if deps.settings.socket_mode else "http"
        health = await bot_health(deps.jobs.store)
        body = {"ok": health.ok, "mode": mode, "store": health.store, "workers": health.workers}
        return JSONResponse(body, status_code=200 if health.ok else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack is not None:
        secret = deps.settings.slack_signing_secret
        verifier = SignatureVerifier(secret.get_secret_value() if secret else "-")

        async def slack_events(request: Request) -> Response:
            body = await _capped_body(request)
            if body is None:
                return JSONResponse({"error": "body over 1 MiB"}, status_code=413)
            if not _signed(verifier, body, request):
                log.info("refused a request with a bad or missing Slack signature")
                return JSONResponse({"error": "invalid request"}, status_code=401)
            meant = read(body, request.headers.get("content-type", ""))
            if isinstance(meant, str):
                return JSONResponse({"error": f"malformed body: {meant}"}, status_code=400)
            bolt_request = to_async_bolt_request(request, body)
            bolt_request.body = meant
            try:
                response = to_starlette_response(await slack.async_dispatch(bolt_request))
            except Exception:
                response = Response(status_code=500)
                log.exception("bolt could not handle a signed request")
            if response.status_code < 500:
                return response
            ref = secrets.token_hex(4)
            log.warning("a signed request could not be handled (ref %s)", ref)
            return JSONResponse({"error": f"could not handle this request (ref {ref})"}, 400)

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)


async def _capped_body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY (by its Content-Length, or as it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    request._body = bytes(body)  # Starlette's cache: bolt reads the body again
    return request._body


def _signed(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    """Slack's v0 signature; a malformed timestamp or signature is simply not valid."""
    try:
        return verifier.is_valid_request(body, dict(request.headers))
    except (ValueError, TypeError):
        return False
