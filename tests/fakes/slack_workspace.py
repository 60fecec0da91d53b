"""Who is who in the fake Slack workspace: the ids every part of the Slack fake agrees on."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

TEAM_ID = "T0FAKE"
APP_ID = "A0FAKE"
BOT_USER_ID = "U0FRACAS"
BOT_ID = "B0FRACAS"
CALLER_ID = "U0CALLER"
INCIDENTS_ID = "C0123456789"
SCOPES = "commands,chat:write,files:write,reactions:read,channels:manage,pins:write"
AUTH_TEST = {
    "ok": True,
    "url": "https://fake.slack.com/",
    "team": "Fake",
    "user": "fracas",
    "team_id": TEAM_ID,
    "user_id": BOT_USER_ID,
    "bot_id": BOT_ID,
    "is_enterprise_install": False,
}
