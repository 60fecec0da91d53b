"""Block Kit validation as Slack applies it (reference/slack-platform.md §5), so a message the
real API would refuse fails in tests too, with Slack's `[ERROR] ... [json-pointer:...]` texts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .slack_workspace import Json

BLOCK_TYPES = frozenset(
    {"section", "header", "context", "divider", "actions", "rich_text", "image", "markdown"}
)


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
