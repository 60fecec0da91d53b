"""Render REST API client (reference/render-api.md): bearer auth, errors that say what to do."""

from __future__ import annotations

from typing import Any

import httpx

from bot.errors import FracasError


class RenderError(FracasError):
    """A Render call that failed, with Render's own message and request id for support."""

    def __init__(
        self, message: str, hint: str = "", status: int | None = None, request_id: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.request_id = request_id


class RenderClient:
    def __init__(self, api_key: str, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "fracas",
            },
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def owners(self, limit: int = 1) -> list[dict[str, Any]]:
        """Workspaces the key can see; the cheapest call that proves key and reachability."""
        return [item["owner"] for item in await self._get("/owners", {"limit": limit})]

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = await self.http.get(path, params=params)
        except httpx.TimeoutException:
            raise RenderError(
                f"Render did not answer within {self.http.timeout.read} s ({self.base_url}).",
                "Check RENDER_API_URL and the network.",
            ) from None
        except httpx.HTTPError as exc:
            raise RenderError(
                f"cannot reach Render at {self.base_url}: {exc}.",
                "Check RENDER_API_URL and the network.",
            ) from None
        if response.is_success:
            return response.json()
        raise _error(response)


def _error(response: httpx.Response) -> RenderError:
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        message = response.text[:200]
    request_id = response.headers.get("Render-Request-Id", "")
    hint = {
        401: "RENDER_API_KEY was refused: create a key under Account Settings > API Keys.",
        403: "The key cannot see this resource: is it from the right workspace?",
        404: "Check the name or srv- id in the catalog.",
    }.get(response.status_code, "")
    text = f"Render answered {response.status_code}" + (f": {message}" if message else "")
    if request_id:
        text += f" (Render-Request-Id {request_id})"
    return RenderError(text + ".", hint, response.status_code, request_id)
