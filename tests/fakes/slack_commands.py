"""What Slack sends to the app (reference/slack-platform.md §1, §2, §3): slash-command fields
and form-encoded bodies, block_actions clicks, Events API envelopes, and the v0-signed headers
of HTTP mode."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .slack_workspace import APP_ID, BOT_USER_ID, CALLER_ID, INCIDENTS_ID, TEAM_ID, Json


def signed_headers(
    body: str,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack would send with `body`, v0-signed with `secret` (reference §2)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def event_headers(body_json: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers of an Events API POST to /slack/events: JSON, signed like a slash command."""
    return signed_headers(body_json, secret, timestamp, content_type="application/json")


def event_callback(event: Json, *, event_id: str, channel: str) -> Json:
    """`event` in the envelope Slack delivers it in, with the keys of a real capture
    (tests/data/slack/reaction_added.json); the bot is the one authorization."""
    context = {"et": event["type"], "tid": TEAM_ID, "aid": APP_ID, "cid": channel}
    packed = json.dumps(context, separators=(",", ":")).encode()
    return {
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(float(event["event_ts"])),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + base64.urlsafe_b64encode(packed).decode().rstrip("="),
    }


def slash_command_fields(
    text: str,
    *,
    response_url: str,
    user_id: str = CALLER_ID,
    channel_id: str = INCIDENTS_ID,
    channel_name: str = "incidents",
    command: str = "/fracas",
    trigger_id: str = "",
) -> dict[str, str]:
    """The slash-command fields of reference §1, as Slack would fill them in; a delivery
    seen twice is the same `trigger_id` again."""
    return {
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": "caller",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{time.time_ns() % 10**11}.{TEAM_ID}.{uuid.uuid4().hex[:21]}",
    }


def slash_command_body(text: str, *, response_url: str, **fields: str) -> str:
    """Raw form-encoded slash-command body, ready for signed_headers()."""
    return urlencode(slash_command_fields(text, response_url=response_url, **fields))


def block_actions_body(
    action_id: str,
    value: str,
    *,
    message_ts: str,
    response_url: str,
    user_id: str = CALLER_ID,
    channel_id: str = INCIDENTS_ID,
) -> str:
    """A button click as Slack sends it (reference §2, §8): `payload=<json>`, form-encoded."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": "caller", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "fake-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{time.time_ns() % 10**11}.{TEAM_ID}.{uuid.uuid4().hex[:21]}",
        "channel": {"id": channel_id, "name": "incidents"},
        "message": {"type": "message", "ts": message_ts, "text": "fracas"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": uuid.uuid4().hex[:5],
                "text": {"type": "plain_text", "text": action_id},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
