"""The Slack app manifest (reference/slack-platform.md §8), so setup is one paste."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

SCOPES = [
    "commands",
    "chat:write",
    "files:write",
    "reactions:read",  # 📌 adds a message to the incident's timeline
    "channels:manage",  # a channel per incident, its opener invited
    "pins:write",  # the incident's header stays pinned
]
SCOPE_NEEDS = {  # what stops working without each scope, as `fracas check` says it
    "commands": "/fracas does not exist",
    "chat:write": "no result is posted",
    "files:write": "no file is attached and no report uploaded",
    "reactions:read": "📌 adds nothing to a timeline",
    "channels:manage": "incidents live in the channel they are opened in",
    "pins:write": "an incident's header is not pinned",
}
USAGE = (
    "help | status [env] | logs <service> [env] | envdiff <service> | run <runbook> [env] | "
    "incident open <title> | note <text> | report"
)


def url_problem(url: str) -> str | None:
    """Why Slack would refuse `url` as the app's base URL, or None: Slack sends its requests
    only to https:// URLs, so a bare host or http:// would fail later, at Slack's end."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https":
        bare = url.split("://", 1)[-1].strip().lstrip("/")
        return (
            f"'{url}' does not start with https://: Slack sends requests only to HTTPS URLs. "
            f"Try https://{bare or 'your-app.onrender.com'}"
        )
    if not parts.hostname:
        return f"'{url}' has no host name: give the app's public URL, like https://x.onrender.com"
    return None


def manifest(url: str | None) -> dict[str, Any]:
    """HTTP mode when `url` (the public base URL) is given, Socket Mode otherwise."""
    endpoint = f"{url.rstrip('/')}/slack/events" if url else None
    command: dict[str, Any] = {
        "command": "/fracas",
        "description": "Diagnose incidents: Render logs, env diffs, database, runbooks",
        "usage_hint": USAGE,
        "should_escape": False,
    }
    events: dict[str, Any] = {"bot_events": ["reaction_added", "reaction_removed"]}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if endpoint:
        command["url"] = endpoint
        events["request_url"] = endpoint
        interactivity["request_url"] = endpoint
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "fracas",
            "description": "ChatOps incident bot: names the cause in seconds, never shows a secret",
            "background_color": "#3b1f2b",
        },
        "features": {
            "bot_user": {"display_name": "fracas", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": SCOPES}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": endpoint is None,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(url: str | None) -> str:
    mode = f"HTTP mode, requests to {url}" if url else "Socket Mode (set SLACK_APP_TOKEN)"
    head = (
        f"# Slack app manifest for fracas: {mode}.\n"
        "# Paste it at https://api.slack.com/apps > Create New App > From a manifest.\n"
    )
    return head + yaml.safe_dump(manifest(url), sort_keys=False)
