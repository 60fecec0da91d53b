"""Render REST API client (reference/render-api.md): cursor and time paging, rate limits,
bounded retries, and errors that say what to do.

One client serves the whole process: each event loop gets its own connection pool, while what
Render says about our rate limit and which service a name means are shared by all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.errors import FracasError
from bot.integrations.loops import PerLoop, tls

Json = dict[str, Any]
PAGE = 100  # Render's largest page (reference §2, §5)
RETRYABLE = {500, 502, 503, 504}
SERVICE_TTL = 30.0  # seconds a fetched service object is reused (a runbook asks for it often)
_SHARED: ContextVar[dict[str, asyncio.Task[Any]] | None] = ContextVar("render_shared", default=None)
KEY_HINT = "Create an API key under Render's Account Settings > API Keys and set RENDER_API_KEY."


class RenderError(FracasError):
    """A Render call that failed, with Render's own message and request id for support."""

    def __init__(
        self, message: str, hint: str = "", status: int | None = None, request_id: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.request_id = request_id


class RenderClient:
    """GETs with a time budget each: pacing when the rate limit runs low, waits on 429, and
    bounded retries with jittered backoff on 5xx and network errors."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str,
        *,
        timeout: float = 10.0,
        budget: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.budget = budget
        self.retries = retries
        self.backoff = backoff
        self._pools = PerLoop(self._connect)
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._limit: int | None = None
        self._reset_at = 0.0
        self._names: dict[str, str] = {}
        self._services: dict[str, tuple[float, Json]] = {}
        self._inflight: dict[tuple[int, str], asyncio.Future[Json]] = {}

    def _connect(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=tls(),
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
                "User-Agent": "fracas",
            },
        )

    async def aclose(self) -> None:
        """Close the running loop's pool (each loop closes its own before it ends)."""
        await self._pools.aclose()

    def require_key(self) -> None:
        """Fail at once, and once, when no key is configured (not once per service)."""
        if not self.api_key:
            raise RenderError("RENDER_API_KEY is not set.", KEY_HINT)

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Within it (one runbook run, and the tasks it starts), a GET is made once: steps
        asking the same thing at the same time share the call, later ones reuse its answer."""
        token = _SHARED.set({})
        try:
            yield
        finally:
            _SHARED.reset(token)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET within the budget, however many attempts and waits that takes."""
        memo = _SHARED.get()
        if memo is None:
            return await self._get(path, params)
        key = repr((path, sorted((params or {}).items())))
        task = memo.get(key)
        if task is None:
            task = memo[key] = asyncio.ensure_future(self._get(path, params))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return copy.deepcopy(await asyncio.shield(task))

    async def _get(self, path: str, params: dict[str, Any] | None) -> Any:
        self.require_key()
        deadline = time.monotonic() + self.budget
        attempt = 0
        while True:
            await self._pace(deadline)
            try:
                left = max(deadline - time.monotonic(), 0.1)
                response = await self._pools.get().get(
                    path, params=params, timeout=min(self.timeout, left)
                )
            except httpx.HTTPError as exc:
                failure = _network_error(exc, self.base_url)
                wait = self._backoff(attempt)
            else:
                self._note_limits(response)
                if response.is_success:
                    return _body(response)
                failure = _error(response)
                if response.status_code == 429:
                    wait = self._rate_wait(response) or self._backoff(attempt)
                elif response.status_code in RETRYABLE:
                    wait = self._backoff(attempt)
                else:
                    raise failure
            attempt += 1
            if attempt > self.retries or time.monotonic() + wait > deadline:
                raise _gave_up(failure, attempt, wait, self.budget)
            await asyncio.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Exponential with jitter, so many clients retrying do not retry in step."""
        ceiling = self.backoff * 2.0**attempt
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    @staticmethod
    def _rate_wait(response: httpx.Response) -> float | None:
        """Render's own word on when to come back: Retry-After, else Ratelimit-Reset."""
        for header in ("Retry-After", "Ratelimit-Reset"):
            try:
                return max(float(response.headers[header]), 0.0)
            except (KeyError, ValueError):
                continue
        return None

    def _note_limits(self, response: httpx.Response) -> None:
        try:
            remaining = int(response.headers["Ratelimit-Remaining"])
            reset = float(response.headers["Ratelimit-Reset"])
            limit = int(response.headers.get("Ratelimit-Limit", "0")) or None
        except (KeyError, ValueError):
            return
        with self._lock:
            self._remaining, self._limit = remaining, limit
            self._reset_at = time.monotonic() + reset

    async def _pace(self, deadline: float) -> None:
        """When the window is nearly spent, spread what is left over the time until it resets
        instead of running into 429s (and starving the other steps of the same key)."""
        with self._lock:
            remaining, limit, reset_in = self._remaining, self._limit, self._reset_at
            if remaining is not None:
                self._remaining = max(remaining - 1, 0)
        reset_in -= time.monotonic()
        if remaining is None or reset_in <= 0:
            return
        low = max(2, (limit or 0) // 20)
        if remaining > low:
            return
        wait = reset_in if remaining <= 0 else reset_in / remaining
        await asyncio.sleep(max(min(wait, deadline - time.monotonic()), 0))

    async def pages(
        self, path: str, kind: str, params: dict[str, Any] | None = None, most: int | None = None
    ) -> list[Json]:
        """Every item of a cursor-paged list (bare arrays of `{cursor, <kind>}`), or the first
        `most`; a short page ends it, so nothing is asked twice."""
        items: list[Json] = []
        query = dict(params or {})
        while most is None or len(items) < most:
            size = PAGE if most is None else min(PAGE, most - len(items))
            page = await self.get(path, {**query, "limit": size})
            try:
                items += [entry[kind] for entry in page]
            except (KeyError, TypeError):
                raise _shape_error(path, f"a list of {{cursor, {kind}}}") from None
            if len(page) < size:
                break
            query["cursor"] = page[-1]["cursor"]
        return items

    async def owners(self, limit: int = 1) -> list[Json]:
        """Workspaces the key can see; the cheapest call that proves key and reachability."""
        return [item["owner"] for item in await self.get("/owners", {"limit": limit})]

    async def service(self, ref: str) -> Json:
        """A service by srv- id or exact Render name. Concurrent asks share one call, and the
        answer is reused for a while (a runbook's steps all want it)."""
        service_id = ref if _is_id(ref) else self._names.get(ref, "")
        cached = self._services.get(service_id)
        if cached and time.monotonic() - cached[0] < SERVICE_TTL:
            return cached[1]
        key = (id(asyncio.get_running_loop()), ref)
        inflight = self._inflight.get(key)
        if inflight is None:
            inflight = self._inflight[key] = asyncio.ensure_future(self._fetch_service(ref))
            inflight.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(inflight)

    async def _fetch_service(self, ref: str) -> Json:
        service_id = ref if _is_id(ref) else self._names.get(ref)
        if service_id is not None:
            path = f"/services/{service_id}"
            answer = await self.get(path)
            if not isinstance(answer, dict) or "id" not in answer:
                raise _shape_error(path, "a service")
            service: Json = answer
        else:
            service = await self._by_name(ref)
            self._names[ref] = service["id"]
        self._services[service["id"]] = (time.monotonic(), service)
        return service

    async def _by_name(self, name: str) -> Json:
        found = await self.pages("/services", "service", {"name": name, "includePreviews": "false"})
        exact = [s for s in found if s.get("name") == name]
        if not exact:
            raise RenderError(
                f"Render has no service named '{name}' that this API key can see.",
                "Check the `render:` name in the catalog (names are exact), or use the srv- id.",
            )
        if len(exact) > 1:
            ids = ", ".join(s["id"] for s in exact)
            raise RenderError(
                f"{len(exact)} Render services are named '{name}' ({ids}).",
                "Put the srv- id in the catalog's `render:` instead of the name.",
            )
        return exact[0]

    async def env_vars(self, service_id: str) -> list[tuple[str, str]]:
        """Variables set on the service itself (Render does not include environment groups)."""
        items = await self.pages(f"/services/{service_id}/env-vars", "envVar")
        return [(str(v["key"]), str(v.get("value") or "")) for v in items]

    async def deploys(self, service_id: str, most: int = 10) -> list[Json]:
        """Newest first."""
        return await self.pages(f"/services/{service_id}/deploys", "deploy", most=most)

    async def events(self, service_id: str, types: list[str], since: datetime) -> list[Json]:
        """Newest first, within the window."""
        params = {"type": ",".join(types), "startTime": rfc3339(since)}
        return await self.pages(f"/services/{service_id}/events", "event", params, most=PAGE)

    async def logs(
        self, owner_id: str, resource: str, start: datetime, end: datetime, most: int
    ) -> AsyncIterator[list[Json]]:
        """Pages of log entries, newest first, until the window or `most` is exhausted. `/logs`
        pages by time: each answer says where the next one starts (reference §5)."""
        params: dict[str, Any] = {
            "ownerId": owner_id,
            "resource": resource,
            "startTime": rfc3339(start),
            "endTime": rfc3339(end),
            "direction": "backward",
        }
        left = most
        while left > 0:
            page = await self.get("/logs", {**params, "limit": min(PAGE, left)})
            if not isinstance(page, dict) or not isinstance(page.get("logs", []), list):
                raise _shape_error("/logs", "{hasMore, nextStartTime, nextEndTime, logs}")
            entries = page.get("logs") or []
            yield entries
            left -= len(entries)
            if not page.get("hasMore") or not entries:
                return
            params["startTime"], params["endTime"] = page["nextStartTime"], page["nextEndTime"]


def _is_id(ref: str) -> bool:
    return ref.startswith(("srv-", "crn-"))


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime | None:
    """Render's RFC 3339 stamps (nanoseconds, `Z`) as aware datetimes; None stays None."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


URL_HINT = "Is RENDER_API_URL Render's API (https://api.render.com/v1)?"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        raise RenderError(
            f"{response.request.url.path} answered {response.status_code} with a body that is "
            f"not JSON ({kind}).",
            URL_HINT,
            response.status_code,
        ) from None


def _shape_error(path: str, expected: str) -> RenderError:
    return RenderError(f"Render's answer to {path} is not {expected}.", URL_HINT)


def _network_error(exc: httpx.HTTPError, base_url: str) -> RenderError:
    if isinstance(exc, httpx.TimeoutException):
        text = f"Render did not answer in time ({base_url})."
    else:
        text = f"cannot reach Render at {base_url}: {str(exc) or type(exc).__name__}."
    return RenderError(text, "Check RENDER_API_URL and the network; Render's status page.")


def _gave_up(failure: RenderError, attempts: int, wait: float, budget: float) -> RenderError:
    if failure.status == 429:
        detail = f" Render's rate limit resets in {wait:.0f} s."
    else:
        detail = f" Gave up after {attempts} attempt{'s' * (attempts > 1)} (budget {budget:.0f} s)."
    return RenderError(
        failure.message.rstrip(".") + "." + detail,
        failure.hint,
        failure.status,
        failure.request_id,
    )


def _error(response: httpx.Response) -> RenderError:
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        message = response.text[:200]
    request_id = response.headers.get("Render-Request-Id", "")
    status = response.status_code
    hint = {
        401: "RENDER_API_KEY was refused. " + KEY_HINT,
        403: "The key cannot see this resource: is it from the right workspace?",
        404: "Check the name or srv- id in the catalog.",
        429: "Render's rate limit is spent; wait a minute or run fewer checks at once.",
    }.get(response.status_code, "Render's side failed; try again in a minute." * (status >= 500))
    text = f"Render answered {response.status_code}" + (f": {message}" if message else "")
    if request_id:
        text += f" (Render-Request-Id {request_id})"
    return RenderError(text + ".", hint, response.status_code, request_id)
