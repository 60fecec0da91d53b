"""OAuth scopes as Slack enforces them, so a method the app's manifest does not cover fails in
tests as it would in a real workspace: `{"ok": false, "error": "missing_scope", "needed",
"provided"}` (reference/slack-platform.md §4 tier table; bot scopes from slack-api-ref's
docs.slack.dev/methods/*.json)."""

from __future__ import annotations

from .slack_workspace import Json

# bot scope each method needs; methods not listed need none the fake checks
METHOD_SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.create": "channels:manage",
    "conversations.invite": "channels:manage",
    "pins.add": "pins:write",
    "pins.remove": "pins:write",
    "pins.list": "pins:read",
    "reactions.get": "reactions:read",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.upload": "files:write",
    "files.delete": "files:write",
}


def needed_scope(method: str, args: Json) -> str | None:
    """The scope `method` needs with these arguments; a private channel needs groups:write."""
    if method == "conversations.create" and str(args.get("is_private", "")).lower() in (
        "1",
        "true",
    ):
        return "groups:write"
    return METHOD_SCOPES.get(method)


def scope_error(method: str, args: Json, granted: list[str]) -> Json | None:
    """Slack's missing_scope body when the token lacks what `method` needs, else None."""
    needed = needed_scope(method, args)
    if needed is None or needed in granted:
        return None
    return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(granted)}
