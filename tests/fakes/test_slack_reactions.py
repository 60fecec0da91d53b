"""Self-test of the fake's incident side (people's messages, reactions, pins, membership, file
replacement, scopes), driven by the real slack_sdk / slack_bolt clients and checked against
real captured payloads in tests/data/slack/."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from .slack_api import FakeSlack, event_headers
from .test_slack_api import slack_error

CHANNEL = "C0123456789"
DATA = Path(__file__).resolve().parent.parent / "data" / "slack"
# envelope keys Slack has deprecated and no longer sends (absent from the 2025 capture)
DEPRECATED = {"authed_users", "authed_teams"}


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-fake", base_url=slack.api_url)


def capture(name: str) -> dict:
    return json.loads((DATA / name).read_text())


# people's and integrations' messages


def test_say_stores_human_and_integration_messages(slack: FakeSlack) -> None:
    root = slack.say(CHANNEL, "db is down")
    reply = slack.say("#incidents", "on it", user="U0RESCUER", thread_ts=root)
    alert = slack.say(CHANNEL, "FIRING: PgDown", user=None, bot_id="B0ALERTS")
    assert float(root) < float(reply) < float(alert)
    human, threaded, hook = slack.messages(CHANNEL)
    assert (human["user"], human["text"], human["thread_ts"]) == ("U0CALLER", "db is down", None)
    assert (threaded["user"], threaded["thread_ts"]) == ("U0RESCUER", root)
    assert "user" not in hook
    assert (hook["bot_id"], hook["subtype"], hook["username"]) == (
        "B0ALERTS",
        "bot_message",
        "Alertmanager",
    )
    with pytest.raises(ValueError, match="no channel"):
        slack.say("C0NOPE", "x")
    with pytest.raises(ValueError, match="bot_id"):
        slack.say(CHANNEL, "x", user=None)


# reactions with state, and the deliveries Slack would send


def test_react_and_unreact_keep_state_and_return_deliveries(slack: FakeSlack) -> None:
    ts = slack.say(CHANNEL, "rolled back")
    added = slack.react(CHANNEL, ts)
    again = slack.react(CHANNEL, ts, user="U0OTHER")
    slack.react(CHANNEL, ts, "eyes")
    assert slack.messages(CHANNEL)[0]["reactions"] == [
        {"name": "pushpin", "users": ["U0CALLER", "U0OTHER"], "count": 2},
        {"name": "eyes", "users": ["U0CALLER"], "count": 1},
    ]
    event = added["event"]
    assert (added["type"], added["team_id"], added["api_app_id"]) == (
        "event_callback",
        "T0FAKE",
        "A0FAKE",
    )
    assert (event["type"], event["user"], event["reaction"], event["item_user"]) == (
        "reaction_added",
        "U0CALLER",
        "pushpin",
        "U0CALLER",
    )
    assert event["item"] == {"type": "message", "channel": CHANNEL, "ts": ts}
    assert added["event_id"].startswith("Ev") and added["event_id"] != again["event_id"]
    assert added["event_time"] == int(float(event["event_ts"]))
    assert added["authorizations"][0]["user_id"] == "U0FRACAS"

    removed = slack.unreact(CHANNEL, ts, user="U0OTHER")
    slack.unreact(CHANNEL, ts, "eyes")
    assert removed["event"]["type"] == "reaction_removed"
    assert slack.messages(CHANNEL)[0]["reactions"] == [
        {"name": "pushpin", "users": ["U0CALLER"], "count": 1}
    ]
    slack.unreact(CHANNEL, ts)
    assert "reactions" not in slack.messages(CHANNEL)[0]
    with pytest.raises(ValueError, match="has not reacted"):
        slack.unreact(CHANNEL, ts)
    slack.react(CHANNEL, ts)
    with pytest.raises(ValueError, match="already reacted"):
        slack.react(CHANNEL, ts)
    with pytest.raises(ValueError, match="no message"):
        slack.react(CHANNEL, "1.000001")


async def test_reaction_on_integration_post_has_no_item_user(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    alert = slack.say(CHANNEL, "FIRING", user=None, bot_id="B0ALERTS")
    assert "item_user" not in slack.react(CHANNEL, alert)["event"]
    posted = await client.chat_postMessage(channel=CHANNEL, text="header")
    assert slack.react(CHANNEL, posted["ts"])["event"]["item_user"] == "U0FRACAS"


async def test_reactions_get_round_trip(slack: FakeSlack, client: AsyncWebClient) -> None:
    header = await client.chat_postMessage(channel=CHANNEL, text="INC-7 db down")
    reply = slack.say(CHANNEL, "failover started", thread_ts=header["ts"])
    slack.react(CHANNEL, reply)
    got = await client.reactions_get(channel=CHANNEL, timestamp=reply, full=True)
    assert (got["type"], got["channel"]) == ("message", CHANNEL)
    message = got["message"]
    assert (message["ts"], message["thread_ts"], message["user"]) == (
        reply,
        header["ts"],
        "U0CALLER",
    )
    assert message["text"] == "failover started"
    assert message["reactions"] == [{"name": "pushpin", "users": ["U0CALLER"], "count": 1}]
    top = (await client.reactions_get(channel=CHANNEL, timestamp=header["ts"]))["message"]
    assert (top["user"], top["bot_id"], top["app_id"]) == ("U0FRACAS", "B0FRACAS", "A0FAKE")
    assert "thread_ts" not in top and "reactions" not in top
    alert = slack.say(CHANNEL, "FIRING", user=None, bot_id="B0ALERTS", username="Grafana")
    hook = (await client.reactions_get(channel=CHANNEL, timestamp=alert))["message"]
    assert "user" not in hook
    assert (hook["bot_id"], hook["subtype"], hook["username"]) == (
        "B0ALERTS",
        "bot_message",
        "Grafana",
    )
    errors = [
        ({"channel": CHANNEL, "timestamp": "1.000001"}, "message_not_found"),
        ({"channel": "C0NOPE", "timestamp": reply}, "channel_not_found"),
        ({"channel": CHANNEL, "timestamp": "yesterday"}, "bad_timestamp"),
        ({"channel": CHANNEL}, "no_item_specified"),
    ]
    for params, error in errors:
        assert (await slack_error(client.api_call("reactions.get", params=params)))[
            "error"
        ] == error


async def test_reactions_add_and_remove_as_the_bot(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    ts = slack.say(CHANNEL, "timeline entry")
    refused = await slack_error(client.reactions_add(channel=CHANNEL, timestamp=ts, name="x"))
    assert (refused["error"], refused["needed"]) == ("missing_scope", "reactions:write")
    slack.grant("reactions:write")
    await client.reactions_add(channel=CHANNEL, timestamp=ts, name="white_check_mark")
    assert slack.messages(CHANNEL)[0]["reactions"] == [
        {"name": "white_check_mark", "users": ["U0FRACAS"], "count": 1}
    ]
    again = client.reactions_add(channel=CHANNEL, timestamp=ts, name="white_check_mark")
    assert (await slack_error(again))["error"] == "already_reacted"
    await client.reactions_remove(channel=CHANNEL, timestamp=ts, name="white_check_mark")
    assert "reactions" not in slack.messages(CHANNEL)[0]
    gone = client.reactions_remove(channel=CHANNEL, timestamp=ts, name="white_check_mark")
    assert (await slack_error(gone))["error"] == "no_reaction"


# pins


async def test_pins_round_trip(slack: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel=CHANNEL, text="header")
    second = slack.say(CHANNEL, "note")
    assert (await client.pins_add(channel=CHANNEL, timestamp=first["ts"]))["ok"]
    await client.pins_add(channel=CHANNEL, timestamp=second)
    assert slack.pinned(CHANNEL) == [first["ts"], second]
    twice = client.pins_add(channel=CHANNEL, timestamp=second)
    assert (await slack_error(twice))["error"] == "already_pinned"
    nowhere = client.pins_add(channel=CHANNEL, timestamp="1.000001")
    assert (await slack_error(nowhere))["error"] == "message_not_found"

    unlisted = await slack_error(client.pins_list(channel=CHANNEL))
    assert (unlisted["error"], unlisted["needed"]) == ("missing_scope", "pins:read")
    slack.grant("pins:read")
    items = (await client.pins_list(channel=CHANNEL))["items"]
    assert [item["message"]["ts"] for item in items] == [second, first["ts"]]  # newest first
    assert {item["type"] for item in items} == {"message"}
    assert items[1]["message"]["pinned_to"] == [CHANNEL]
    assert items[1]["created_by"] == "U0FRACAS"

    await client.pins_remove(channel=CHANNEL, timestamp=second)
    assert slack.pinned(CHANNEL) == [first["ts"]]
    unpinned = client.pins_remove(channel=CHANNEL, timestamp=second)
    assert (await slack_error(unpinned))["error"] == "no_pin"
    assert (await slack_error(client.pins_list(channel="C0NOPE")))["error"] == "channel_not_found"


# channels: names, members, refusals


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("INC-42", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc.42", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
    ],
)
async def test_conversations_create_checks_names(
    client: AsyncWebClient, name: str, error: str
) -> None:
    assert (await slack_error(client.conversations_create(name=name)))["error"] == error


async def test_conversations_create_accepts_slack_names(client: AsyncWebClient) -> None:
    for name in ("inc-2026-11-23_db-down", "x" * 80, "42"):
        assert (await client.conversations_create(name=name))["channel"]["name"] == name


async def test_invite_and_members(slack: FakeSlack, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-7"))["channel"]
    assert channel["is_member"] and slack.members(channel["id"]) == {"U0FRACAS"}
    invited = await client.conversations_invite(channel=channel["id"], users=["U0CALLER", "U0B"])
    assert invited["channel"]["id"] == channel["id"]
    assert slack.members(channel["id"]) == {"U0FRACAS", "U0CALLER", "U0B"}
    assert (await client.conversations_invite(channel=channel["id"], users="U0B,U0C"))["ok"]
    already = await slack_error(client.conversations_invite(channel=channel["id"], users="U0B"))
    assert already["error"] == "already_in_channel"
    selfish = await slack_error(
        client.conversations_invite(channel=channel["id"], users="U0D,U0FRACAS")
    )
    assert selfish["error"] == "cant_invite_self" and "U0D" not in slack.members(channel["id"])
    assert selfish["errors"] == [{"user": "U0FRACAS", "ok": False, "error": "cant_invite_self"}]
    bogus = await slack_error(client.conversations_invite(channel=channel["id"], users="bob"))
    assert bogus["error"] == "user_not_found"
    empty = client.api_call("conversations.invite", params={"channel": channel["id"]})
    assert (await slack_error(empty))["error"] == "no_user"
    assert slack.members(CHANNEL) == {"U0FRACAS", "U0CALLER"}
    slack.set_not_in_channel(CHANNEL)
    assert "U0FRACAS" not in slack.members(CHANNEL)
    outside = await slack_error(client.conversations_invite(channel=CHANNEL, users="U0E"))
    assert outside["error"] == "not_in_channel"
    await client.conversations_join(channel=CHANNEL)
    assert "U0FRACAS" in slack.members(CHANNEL)


async def test_refuse_next_makes_create_answer_an_error(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.refuse_next("conversations.create", "restricted_action")
    refused = await slack_error(client.conversations_create(name="inc-8"))
    assert (refused.status_code, refused["error"]) == (200, "restricted_action")
    assert "Retry-After" not in refused.headers
    assert (await client.conversations_create(name="inc-8"))["ok"]


# files and permalinks


async def test_files_delete_round_trip(slack: FakeSlack, client: AsyncWebClient) -> None:
    old = await client.files_upload_v2(channel=CHANNEL, content="v1", filename="report.md")
    new = await client.files_upload_v2(channel=CHANNEL, content="v2", filename="report.md")
    old_id = old["file"]["id"]
    assert (await client.files_delete(file=old_id))["ok"]
    assert list(slack.files) == [new["file"]["id"]]
    assert slack.deleted_files[old_id]["content"] == b"v1"
    assert (await slack_error(client.files_delete(file=old_id)))["error"] == "file_deleted"
    assert (await slack_error(client.files_delete(file="F0NOPE")))["error"] == "file_not_found"


async def test_chat_get_permalink(slack: FakeSlack, client: AsyncWebClient) -> None:
    header = await client.chat_postMessage(channel=CHANNEL, text="header")
    reply = slack.say(CHANNEL, "reply", thread_ts=header["ts"])
    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=header["ts"])
    digits = header["ts"].replace(".", "")
    assert link["channel"] == CHANNEL
    assert link["permalink"] == f"https://fake.slack.com/archives/{CHANNEL}/p{digits}"
    threaded = (await client.chat_getPermalink(channel=CHANNEL, message_ts=reply))["permalink"]
    assert threaded.endswith(f"/p{reply.replace('.', '')}?thread_ts={header['ts']}&cid={CHANNEL}")
    missing = client.chat_getPermalink(channel=CHANNEL, message_ts="1.000001")
    assert (await slack_error(missing))["error"] == "message_not_found"
    nowhere = client.chat_getPermalink(channel="C0NOPE", message_ts=header["ts"])
    assert (await slack_error(nowhere))["error"] == "channel_not_found"


# scopes


@pytest.mark.parametrize(
    ("scope", "method", "params"),
    [
        ("channels:manage", "conversations.create", {"name": "inc-9"}),
        ("channels:manage", "conversations.invite", {"channel": CHANNEL, "users": "U0B"}),
        ("pins:write", "pins.add", {"channel": CHANNEL, "timestamp": "1.000001"}),
        ("pins:write", "pins.remove", {"channel": CHANNEL, "timestamp": "1.000001"}),
        ("reactions:read", "reactions.get", {"channel": CHANNEL, "timestamp": "1.000001"}),
        ("files:write", "files.getUploadURLExternal", {"filename": "a", "length": 1}),
        ("files:write", "files.completeUploadExternal", {"files": "[]"}),
        ("files:write", "files.delete", {"file": "F0NOPE"}),
        ("chat:write", "chat.postMessage", {"channel": CHANNEL, "text": "x"}),
        ("chat:write", "chat.update", {"channel": CHANNEL, "ts": "1.000001", "text": "x"}),
    ],
)
async def test_revoked_scope_answers_missing_scope(
    slack: FakeSlack, client: AsyncWebClient, scope: str, method: str, params: dict
) -> None:
    slack.revoke(scope)
    err = await slack_error(client.api_call(method, params=params))
    provided = err["provided"].split(",")
    assert (err.status_code, err["error"], err["needed"]) == (200, "missing_scope", scope)
    assert scope not in provided and "commands" in provided
    assert scope not in (await client.auth_test()).headers["x-oauth-scopes"].split(",")
    assert scope not in slack.scopes


async def test_scopes_default_private_channels_and_grant(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    granted = (await client.auth_test()).headers["x-oauth-scopes"].split(",")
    assert "pins:write" in granted and granted == slack.scopes
    private = await slack_error(client.conversations_create(name="inc-10", is_private=True))
    assert private["needed"] == "groups:write"
    slack.grant("groups:write")
    assert (await client.conversations_create(name="inc-10", is_private=True))["ok"]
    ts = slack.say(CHANNEL, "x")
    slack.revoke("chat:write")
    assert (await client.chat_getPermalink(channel=CHANNEL, message_ts=ts))["ok"]  # no scope


# delivering the reaction events to an app


async def test_reaction_event_signed_for_http_mode(slack: FakeSlack) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-fake", base_url=slack.api_url), signing_secret="s"
    )
    seen: list[dict] = []

    @app.event("reaction_added")
    async def on_reaction(event: dict) -> None:
        seen.append(event)

    body = json.dumps(slack.react(CHANNEL, slack.say(CHANNEL, "pin me")))
    headers = event_headers(body, "s")
    assert headers["content-type"] == "application/json"
    assert SignatureVerifier("s").is_valid_request(body, headers)
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    await asyncio.sleep(0.05)  # the listener runs after the ack
    assert seen[0]["reaction"] == "pushpin" and seen[0]["user"] == "U0CALLER"
    forged = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers=event_headers(body, "not-the-secret"))
    )
    assert forged.status == 401


async def test_reaction_event_over_socket_mode(slack: FakeSlack) -> None:
    app = AsyncApp(client=AsyncWebClient(token="xoxb-fake", base_url=slack.api_url))
    seen: asyncio.Queue[tuple[dict, str | None]] = asyncio.Queue()

    @app.event("reaction_removed")
    async def on_unreaction(event: dict, request: AsyncBoltRequest) -> None:
        retry = request.headers.get("x-slack-retry-num", [None])[0]
        await seen.put((event, retry))

    ts = slack.say(CHANNEL, "pin me")
    slack.react(CHANNEL, ts)
    body = slack.unreact(CHANNEL, ts)
    handler = AsyncSocketModeHandler(app, "xapp-fake")
    await handler.connect_async()
    try:
        assert await slack.socket_event(body) == {}
        assert await slack.socket_event(body, retry_attempt=1) == {}
        first, retried = [await asyncio.wait_for(seen.get(), 2) for _ in range(2)]
    finally:
        await handler.close_async()
    assert first[0]["type"] == "reaction_removed" and first[0]["item"]["ts"] == ts
    assert retried[1] == "1"
    with pytest.raises(AssertionError, match="no Socket Mode client"):
        await slack.socket_event(body, timeout=0.2)


# the fake's shapes against real captures (tests/data/slack/SOURCES.md)


def test_react_envelope_has_every_key_of_real_deliveries(slack: FakeSlack) -> None:
    ts = slack.say(CHANNEL, "note")
    added = slack.react(CHANNEL, ts)
    removed = slack.unreact(CHANNEL, ts)
    real = capture("reaction_added.json")
    for body in (added, removed):
        assert set(real) <= set(body)
        assert set(real["authorizations"][0]) <= set(body["authorizations"][0])
        assert set(real["event"]["item"]) == set(body["event"]["item"])
    assert set(real["event"]) == set(added["event"])
    assert set(capture("reaction_removed_event.json")) == set(removed["event"])
    for body in (real, added):
        assert body["event_context"].startswith("4-") and body["event_id"].startswith("Ev")
        assert body["event_time"] == int(float(body["event"]["event_ts"]))


def test_envelope_without_item_user_matches_capture(slack: FakeSlack) -> None:
    real = capture("reaction_added_no_item_user.json")
    alert = slack.say(CHANNEL, "FIRING", user=None, bot_id="B0ALERTS")
    body = slack.react(CHANNEL, alert)
    assert set(real) - DEPRECATED <= set(body)
    assert set(real["event"]) == set(body["event"])  # no item_user on either


async def test_reactions_get_and_bot_message_match_captures(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    real = capture("reactions_get.json")
    posted = await client.chat_postMessage(channel=CHANNEL, text="Will add a reaction to this")
    slack.react(CHANNEL, posted["ts"], "+1")
    got = (await client.reactions_get(channel=CHANNEL, timestamp=posted["ts"])).data
    assert isinstance(got, dict) and set(real) == set(got)
    unmodelled = {"bot_profile", "blocks"}  # Slack's own additions the fake leaves out
    assert set(real["message"]) - unmodelled <= set(got["message"])
    assert set(real["message"]["reactions"][0]) == set(got["message"]["reactions"][0])
    assert real["message"]["permalink"].endswith(real["message"]["ts"].replace(".", ""))

    hook = capture("bot_message_post.json")["message"]
    alert = slack.say(CHANNEL, "alert", user=None, bot_id="B0ALERTS", username="grafana_noti")
    view = (await client.reactions_get(channel=CHANNEL, timestamp=alert))["message"]
    assert set(hook) - {"attachments"} <= set(view)
    assert "user" not in hook and "user" not in view
    assert (view["subtype"], view["username"]) == (hook["subtype"], hook["username"])
