"""Self-test of the Slack slack, driven by the real slack_sdk / slack_bolt clients."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from urllib.parse import parse_qs

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from .slack_api import FakeSlack, block_errors, signed_headers, slash_command_body

CHANNEL = "C0123456789"


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-fake", base_url=slack.api_url)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(**overrides: str) -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, **overrides}


async def slack_error(call: Awaitable[object]) -> AsyncSlackResponse:
    """The error response of an API call that must fail."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value.response


async def test_auth_test_answers_bot_identity_and_scopes(client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == ("U0FRACAS", "B0FRACAS", "T0FAKE")
    assert "channels:manage" in resp.headers["x-oauth-scopes"].split(",")


async def test_tokens_are_checked_and_failures_recorded(slack: FakeSlack) -> None:
    cases = [
        (None, "not_authed"),
        ("xoxb-wrong", "invalid_auth"),
        ("xapp-fake", "not_allowed_token_type"),
    ]
    for token, error in cases:
        err = await slack_error(AsyncWebClient(token=token, base_url=slack.api_url).auth_test())
        assert err["error"] == error
    opened = await AsyncWebClient(base_url=slack.api_url).apps_connections_open(
        app_token="xapp-fake"
    )
    assert opened["url"] == slack.url.replace("http", "ws") + "/link"
    assert [c.token for c in slack.calls_to("auth.test")] == [None, "xoxb-wrong", "xapp-fake"]


async def test_post_update_and_messages(slack: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel=CHANNEL, text="opened", blocks=[section("hi")])
    reply = await client.chat_postMessage(channel="#incidents", text="more", thread_ts=first["ts"])
    assert reply["channel"] == CHANNEL and float(reply["ts"]) > float(first["ts"])
    updated = await client.chat_update(channel=CHANNEL, ts=first["ts"], text="closed")
    assert (updated["ts"], updated["text"]) == (first["ts"], "closed")
    stored = slack.messages(CHANNEL)
    assert [(m["text"], m["thread_ts"]) for m in stored] == [
        ("closed", None),
        ("more", first["ts"]),
    ]
    assert stored[0]["blocks"] == [section("hi")] and stored[0]["user"] == "U0FRACAS"
    assert slack.calls_to("chat.postMessage")[0].args["blocks"] == [section("hi")]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_message_errors(slack: FakeSlack, client: AsyncWebClient) -> None:
    assert (await slack_error(client.chat_postMessage(channel=CHANNEL)))["error"] == "no_text"
    missing = await slack_error(client.chat_update(channel=CHANNEL, ts="1.2", text="x"))
    assert missing["error"] == "message_not_found"
    slack.set_not_in_channel(CHANNEL)
    blocked = await slack_error(client.chat_postMessage(channel=CHANNEL, text="x"))
    assert blocked["error"] == "not_in_channel"
    await client.conversations_join(channel=CHANNEL)
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section("x")] * 51, "/blocks"),
        ([section("x" * 3001)], "/blocks/0/text/text"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "/blocks/0/text/text",
        ),
    ],
    ids=["51-blocks", "3001-section", "11-fields", "151-header"],
)
async def test_invalid_blocks_refused(client: AsyncWebClient, blocks: list, pointer: str) -> None:
    err = await slack_error(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert err.status_code == 200 and err["error"] == "invalid_blocks"
    messages = err["response_metadata"]["messages"]
    assert len(messages) == 1 and messages[0].endswith(f"[json-pointer:{pointer}]")


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_valid_blocks_and_form_encoded_blocks(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("x" * 3000),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {"type": "actions", "elements": [button(value="v" * 2000)] * 25},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "divider"},
    ]
    assert (await client.chat_postMessage(channel=CHANNEL, blocks=blocks))["ok"]
    params = {"channel": CHANNEL, "user": "U0CALLER", "blocks": json.dumps([section("")])}
    err = await slack_error(client.api_call("chat.postEphemeral", params=params))
    assert err["error"] == "invalid_blocks"
    assert slack.calls_to("chat.postEphemeral")[0].args["blocks"] == [section("")]
    params["blocks"] = "[not json"
    err = await slack_error(client.api_call("chat.postEphemeral", params=params))
    assert err["error"] == "invalid_blocks_format"


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        ({"type": "context", "elements": [{"type": "plain_text", "text": "c"}] * 11}, "/elements"),
        ({"type": "actions", "elements": [button()] * 26}, "/elements"),
        ({"type": "actions", "elements": [button(action_id="a" * 256)]}, "/elements/0/action_id"),
        (
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "s"},
                "accessory": button(value="v" * 2001),
            },
            "/accessory/value",
        ),
        (
            {
                "type": "actions",
                "elements": [{**button(), "text": {"type": "plain_text", "text": "b" * 76}}],
            },
            "/elements/0/text/text",
        ),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}, "/fields/0/text"),
        ({"type": "header", "text": {"type": "mrkdwn", "text": "h"}}, "/text/type"),
        ({"type": "divider", "block_id": "b" * 256}, "/block_id"),
        ({"type": "input"}, "/type"),
        ("divider", ""),
    ],
)
def test_block_errors_rules(block: object, pointer: str) -> None:
    errors = block_errors([block])
    assert len(errors) == 1 and errors[0].endswith(f"[json-pointer:/blocks/0{pointer}]")


async def test_long_text_is_truncated_with_warning(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    resp = await client.chat_postMessage(channel=CHANNEL, text="x" * 40_001)
    assert resp["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(slack.messages(CHANNEL)[0]["text"]) == 40_000


async def test_rate_limit_without_retry_handler(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    err = await slack_error(client.chat_postMessage(channel=CHANNEL, text="x"))
    assert err.status_code == 429 and err["error"] == "ratelimited"
    assert err.headers["Retry-After"] == "1"
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


async def test_rate_limit_with_retry_handler_waits(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]
    assert time.monotonic() - started >= 1.0
    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200] and calls[1].at - calls[0].at >= 1.0


async def test_delay_and_await_for(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.delay("conversations.info", 0.3)
    pending = asyncio.ensure_future(client.conversations_info(channel=CHANNEL))
    await asyncio.sleep(0.1)
    assert slack.calls_to("conversations.info") == []
    found = await slack.await_for("conversations.info", timeout=2)
    assert found[0].response["channel"]["name"] == "incidents" and (await pending)["ok"]
    with pytest.raises(AssertionError, match=r"seen: \['conversations.info'\]"):
        await slack.await_for("chat.postMessage", timeout=0.05)


async def test_conversations(slack: FakeSlack, client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="inc-42")
    channel_id = created["channel"]["id"]
    assert channel_id.startswith("C") and created["channel"]["name"] == "inc-42"
    assert (await slack_error(client.conversations_create(name="inc-42")))["error"] == "name_taken"
    await client.conversations_invite(channel=channel_id, users=["U1", "U2"])
    await client.conversations_setTopic(channel=channel_id, topic="DB down")
    info = await client.conversations_info(channel=channel_id)
    assert info["channel"]["topic"]["value"] == "DB down"
    assert slack.calls_to("conversations.invite")[0].args["users"] == "U1,U2"
    missing = await slack_error(client.conversations_info(channel="C0NOPE"))
    assert missing["error"] == "channel_not_found"


async def test_files_upload_v2_round_trip(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="report")
    resp = await client.files_upload_v2(
        channel=CHANNEL, content="a,b\n1,2\n", filename="x.txt", thread_ts=posted["ts"]
    )
    stored = slack.files[resp["file"]["id"]]
    assert stored["content"] == b"a,b\n1,2\n" and stored["filename"] == "x.txt"
    assert (stored["channel_id"], stored["thread_ts"]) == (CHANNEL, posted["ts"])
    assert slack.calls_to("upload")[0].args["length"] == 8
    unknown = json.dumps([{"id": "F0NOPE", "title": "t"}])
    err = await slack_error(client.files_completeUploadExternal(files=json.loads(unknown)))
    assert err["error"] == "file_not_found"


async def test_response_url_records_and_validates(slack: FakeSlack) -> None:
    url = slack.new_response_url()
    assert url != slack.new_response_url()
    hook = AsyncWebhookClient(url)
    ok = await hook.send(text="done", response_type="in_channel")
    assert (ok.status_code, ok.body) == (200, "ok")
    bad = await hook.send(text="x", blocks=[section("x" * 3001)])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    path = url.removeprefix(slack.url)
    assert slack.responses()[0] == {
        "path": path,
        "body": {"text": "done", "response_type": "in_channel"},
    }
    assert [c.status for c in slack.calls_to("response_url")] == [200, 400]


def test_sync_web_client_and_wait_for(slack: FakeSlack) -> None:
    WebClient(token="xoxb-fake", base_url=slack.api_url).chat_postMessage(channel=CHANNEL, text="s")
    assert slack.wait_for("chat.postMessage", timeout=1)[0].args["text"] == "s"
    with pytest.raises(AssertionError, match=r"chat\.update"):
        slack.wait_for("chat.update", timeout=0.05)


async def test_socket_mode_slash_command_with_bolt(slack: FakeSlack) -> None:
    app = AsyncApp(client=AsyncWebClient(token="xoxb-fake", base_url=slack.api_url))
    seen: list[dict] = []

    @app.command("/fracas")
    async def fracas(ack: AsyncAck, command: dict) -> None:
        seen.append(command)
        await ack(text=f"usage for {command['text']}")

    handler = AsyncSocketModeHandler(app, "xapp-fake")
    await handler.connect_async()
    try:
        assert await slack.socket_slash_command("help") == {"text": "usage for help"}
    finally:
        await handler.close_async()
    assert seen[0]["user_id"] == "U0CALLER" and seen[0]["response_url"].startswith(slack.url)
    assert slack.calls_to("apps.connections.open")[0].token == "xapp-fake"
    with pytest.raises(AssertionError, match="no Socket Mode client"):
        await slack.socket_slash_command("help", timeout=0.2)


def test_signature_official_vector() -> None:
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
        "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    headers = signed_headers(body, secret, timestamp=1531420618)
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert headers["x-slack-signature"] == expected

    class FixedClock:
        def now(self) -> float:
            return 1531420618

    assert SignatureVerifier(secret, clock=FixedClock()).is_valid_request(body, headers)


def test_slash_command_body_fields() -> None:
    body = slash_command_body("open db down", response_url="http://127.0.0.1:1/response/1")
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert fields["command"] == "/fracas" and fields["text"] == "open db down"
    assert {"team_id", "channel_name", "trigger_id", "api_app_id", "user_name"} <= fields.keys()
    assert SignatureVerifier("s").is_valid_request(body, signed_headers(body, "s"))


async def test_two_fakes_run_side_by_side() -> None:
    with FakeSlack() as one, FakeSlack() as two:
        assert one.url != two.url
        await AsyncWebClient(token="xoxb-fake", base_url=one.api_url).chat_postMessage(
            channel=CHANNEL, text="only one"
        )
        assert len(one.messages(CHANNEL)) == 1 and two.messages(CHANNEL) == []
