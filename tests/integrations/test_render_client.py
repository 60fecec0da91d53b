"""The Render client against the stand-in: paging, caching, pacing, 429s, retries, budgets."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiohttp import web

from bot.integrations.render import RenderClient, RenderError, _network_error
from bot.sandbox.loopback import LoopbackServer
from bot.sandbox.render_api import FakeRender


def client(render: FakeRender, **options: float) -> RenderClient:
    return RenderClient(render.api_key, render.api_url, backoff=0.01, **options)  # type: ignore[arg-type]


async def test_cursor_pages_of_100_and_nothing_asked_twice(render: FakeRender) -> None:
    service = render.add_service("big", env_vars={f"VAR_{i:03d}": str(i) for i in range(250)})
    api = client(render)
    variables = await api.env_vars(service["id"])
    assert len(variables) == 250 and variables[0] == ("VAR_000", "0")
    pages = [r for r in render.requests if "/env-vars" in r]
    assert len(pages) == 3 and all("limit=100" in r for r in pages)
    render.set_env(service["id"], {f"V{i}": "x" for i in range(200)})
    before = render.calls("/v1/services")
    assert len(await api.env_vars(service["id"])) == 200
    assert render.calls("/v1/services") - before == 3  # the third page is [] : the end
    await api.aclose()


async def test_services_by_name_or_id_are_cached_and_shared(render: FakeRender) -> None:
    service = render.add_service("upload-worker-production", "background_worker")
    api = client(render)
    found = await asyncio.gather(*(api.service("upload-worker-production") for _ in range(5)))
    assert {s["id"] for s in found} == {service["id"]}
    assert await api.service(service["id"]) is found[0]
    assert render.calls("/v1/services") == 1
    assert "name=upload-worker-production" in render.requests[0]
    await api.aclose()


async def test_unknown_and_ambiguous_names_say_what_to_do(render: FakeRender) -> None:
    render.add_service("twin")
    render.add_service("twin")
    api = client(render)
    with pytest.raises(RenderError, match="Render has no service named 'wroker'") as missing:
        await api.service("wroker")
    assert "srv- id" in missing.value.hint
    with pytest.raises(RenderError, match="2 Render services are named 'twin'"):
        await api.service("twin")
    await api.aclose()


async def test_5xx_is_retried_and_then_succeeds(render: FakeRender) -> None:
    render.fail_next(503, "upstream unavailable", times=2)
    api = client(render)
    assert (await api.owners())[0]["id"] == render.owner_id
    assert render.calls("/v1/owners") == 3
    await api.aclose()


async def test_5xx_retries_are_bounded_and_the_error_names_the_request(
    render: FakeRender,
) -> None:
    render.fail_next(500, "internal error", times=10)
    api = client(render)
    with pytest.raises(RenderError) as failed:
        await api.owners()
    text = str(failed.value)
    assert "Render answered 500: internal error (Render-Request-Id api-fake/req-" in text
    assert "Gave up after 4 attempts" in text
    assert render.calls("/v1/owners") == 4
    await api.aclose()


async def test_4xx_is_not_retried(render: FakeRender) -> None:
    api = RenderClient("rnd_wrong", render.api_url)
    with pytest.raises(RenderError, match="Render answered 401: unauthorized") as refused:
        await api.owners()
    assert "RENDER_API_KEY was refused" in refused.value.hint
    assert render.calls("/v1/owners") == 1
    await api.aclose()


async def test_a_429_waits_for_retry_after(render: FakeRender) -> None:
    render.fail_next(429, "Rate limit has been surpassed.", retry_after=0.3)
    api = client(render)
    start = time.monotonic()
    await api.owners()
    assert time.monotonic() - start >= 0.3
    await api.aclose()


async def test_a_429_without_retry_after_waits_for_ratelimit_reset() -> None:
    with FakeRender(get_limit=2, window=1.0, retry_after=False) as render:
        api = client(render)
        api._pace = _no_pacing  # type: ignore[method-assign]  # force the 429 path
        start = time.monotonic()
        for _ in range(3):
            await api.owners()
        assert render.rate_limited == 1
        assert time.monotonic() - start >= 0.5
        await api.aclose()


async def _no_pacing(deadline: float) -> None:
    return None


async def test_a_low_ratelimit_remaining_slows_down_instead_of_hitting_429() -> None:
    with FakeRender(get_limit=4, window=1.0) as render:
        api = client(render)
        start = time.monotonic()
        for _ in range(8):
            await api.owners()
        assert render.rate_limited == 0
        assert time.monotonic() - start >= 0.8  # the second half waited for the next window
        await api.aclose()


async def test_a_slow_render_fails_within_the_budget(render: FakeRender) -> None:
    render.delay = 2.0
    api = client(render, budget=0.5)
    start = time.monotonic()
    with pytest.raises(RenderError, match="did not answer in time"):
        await api.owners()
    assert time.monotonic() - start < 1.5
    await api.aclose()


async def test_an_unreachable_render_is_named(unused_tcp_port: int) -> None:
    api = RenderClient("rnd_x", f"http://127.0.0.1:{unused_tcp_port}/v1", backoff=0.01)
    with pytest.raises(RenderError, match=r"cannot reach Render at http://127\.0\.0\.1"):
        await api.owners()
    await api.aclose()


async def test_no_key_no_call() -> None:
    with pytest.raises(RenderError, match="RENDER_API_KEY is not set"):
        await RenderClient(None, "http://127.0.0.1:9/v1").owners()


class NotRender(LoopbackServer):
    """What RENDER_API_URL may point at by mistake: a web page, or some other JSON API."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/html/owners", self._page)
        app.router.add_get("/json/owners", self._other_json)
        app.router.add_get("/json/services/srv-list", self._a_list)
        app.router.add_get("/json/services/srv-other", self._other_json)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>Welcome</html>", content_type="text/html")

    async def _other_json(self, request: web.Request) -> web.Response:
        return web.json_response({"owners": []})

    async def _a_list(self, request: web.Request) -> web.Response:
        return web.json_response([])


async def test_an_answer_that_is_not_render_s_says_so() -> None:
    with NotRender() as other:
        html = RenderClient("rnd_x", f"{other.url}/html")
        with pytest.raises(RenderError, match=r"/html/owners answered 200 with a body") as page:
            await html.owners()
        assert "not JSON (text/html" in page.value.message
        assert "RENDER_API_URL" in page.value.hint
        shaped = RenderClient("rnd_x", f"{other.url}/json")
        with pytest.raises(RenderError, match=r"not a list of \{cursor, owner\}") as wrong:
            await shaped.pages("/owners", "owner")
        assert "RENDER_API_URL" in wrong.value.hint
        await html.aclose()
        await shaped.aclose()


async def test_a_service_answer_that_is_not_a_service_says_so() -> None:
    with NotRender() as other:
        shaped = RenderClient("rnd_x", f"{other.url}/json")
        for ref in ("srv-list", "srv-other"):
            with pytest.raises(RenderError, match=rf"/services/{ref} is not a service") as wrong:
                await shaped.service(ref)
            assert "RENDER_API_URL" in wrong.value.hint
        await shaped.aclose()


def test_a_network_error_without_a_message_is_named_by_its_kind() -> None:
    """httpx raises some errors (a connection closed mid-read) with an empty message."""
    error = _network_error(httpx.ReadError(""), "https://api.render.com/v1")
    assert error.message == "cannot reach Render at https://api.render.com/v1: ReadError."
    error = _network_error(httpx.ConnectError("refused"), "https://api.render.com/v1")
    assert error.message == "cannot reach Render at https://api.render.com/v1: refused."
