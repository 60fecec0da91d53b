"""The HTTP door against what a stranger can send: junk, forgeries, oversized and slow bodies.
Every answer is a 4xx with a reason (never a 5xx), no body reaches our log, and slow clients
neither stall the server nor keep /healthz from answering."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Catalog
from bot.redact import RedactingFilter, Redactor

from fakes.slack_api import FakeSlack
from test_slack_app import SECRET, running, settings_for

FORM = "application/x-www-form-urlencoded"


def sign(body: bytes, secret: str = SECRET, ts: str | None = None) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + digest.hexdigest()}


@pytest.fixture(scope="module")
def door() -> Iterator[str]:
    """The bot behind its real server, in a thread of its own, for sync clients and hypothesis."""
    ready, stop = threading.Event(), threading.Event()
    box: dict[str, str] = {}

    async def main(slack: FakeSlack) -> None:
        async with running(settings_for(slack), Catalog(), request_seconds=1.0) as (url, _):
            box["url"] = url
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    with FakeSlack() as slack:
        thread = threading.Thread(target=asyncio.run, args=(main(slack),), daemon=True)
        thread.start()
        assert ready.wait(20)
        yield box["url"]
        stop.set()
        thread.join(20)


def post(url: str, body: bytes, headers: dict[str, str], content_type: str = FORM) -> int:
    headers = {"content-type": content_type, **headers}
    return httpx.post(f"{url}/slack/events", content=body, headers=headers).status_code


JUNK = [b"[]", b"123", b"null", b'{"enterprise":5}', b"payload=123", b"payload=%5B%5D",
        b"\xff\xfe\xfa", b"", b"command=/fracas&text=help"]  # fmt: skip


@pytest.mark.parametrize("body", JUNK)
def test_unsigned_junk_gets_401(door: str, body: bytes) -> None:
    assert post(door, body, {}) == 401
    assert post(door, body, sign(body, ts="abc")) == 401
    assert post(door, body, sign(body, secret="wrong"), "application/json") == 401


def test_a_non_ascii_signature_gets_401(door: str) -> None:
    headers = {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=é"}
    response = httpx.post(
        f"{door}/slack/events",
        content=b"command=x",
        headers={k: v.encode() for k, v in {**headers, "content-type": FORM}.items()},
    )
    assert response.status_code == 401


def _payload(value: object) -> bytes:
    return urlencode({"payload": json.dumps(value)}).encode()


SIGNED_MALFORMED = [
    (b"[]", "application/json"),
    (b"123", "application/json"),
    (b"null", "application/json"),
    (b'{"enterprise":5}', "application/json"),
    (b'{"type":"event_callback","event":[1,2]}', "application/json"),
    (b"payload=123", FORM),
    (b"payload=%5B%5D", FORM),
    (b"\xff\xfe", FORM),
    (b"command=%2Ffracas&text=help&user_id=U1", FORM),  # no channel_id
    (_payload({"type": "block_actions", "actions": []}), FORM),
    (_payload({"type": "block_actions", "actions": [{"action_id": "rerun"}]}), FORM),
    (_payload({"type": "view_submission", "view": {"id": "V1"}}), FORM),
    (_payload({"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"},
               "actions": [{"action_id": "full_logs", "value": "{not json"}]}), FORM),
]  # fmt: skip


@pytest.mark.parametrize(("body", "content_type"), SIGNED_MALFORMED)
def test_signed_but_malformed_payloads_never_get_a_5xx(
    door: str, body: bytes, content_type: str
) -> None:
    status = post(door, body, sign(body), content_type)
    assert 200 <= status < 500, status


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(["type", "event", "actions", "user",
                                               "channel", "command", "payload"]) | st.text(
                max_size=8), inner, max_size=5),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    signed=st.booleans(),
    as_form=st.booleans(),
)  # fmt: skip
def test_fuzzed_bodies_never_get_a_5xx(door: str, body: bytes, signed: bool, as_form: bool) -> None:
    if as_form and body[:1] in (b"{", b"["):
        body = b"payload=" + quote(body).encode()
    status = post(door, body, sign(body) if signed else {}, FORM if as_form else "application/json")
    assert status < 500


def test_a_body_over_1_mib_gets_413(door: str) -> None:
    big = b"x" * (1 << 20 + 1)
    assert post(door, big, {}) == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for _ in range(20):
            yield b"y" * 100_000

    response = httpx.post(f"{door}/slack/events", content=chunks(), headers={"content-type": FORM})
    assert response.status_code == 413


def test_a_refused_body_never_reaches_the_log(door: str, caplog: pytest.LogCaptureFixture) -> None:
    password = "Zq84mVt3Ww19Lp"
    url = f"postgresql://postgres:{password}@db.abcdefghijklmnopqrst.supabase.co:5432/postgres"
    body = urlencode({"command": "/fracas", "text": f"db production {url}"}).encode()
    with caplog.at_level(logging.DEBUG):
        assert post(door, body, sign(body, secret="forged")) == 401
    assert password not in caplog.text and quote(password) not in caplog.text
    assert [r.getMessage() for r in caplog.records if "signature" in r.getMessage()]


def test_our_log_filter_decodes_before_it_redacts() -> None:
    password = "Zq84mVt3Ww19Lp"
    encoded = quote(f"postgresql://postgres:{password}@db.example.com:5432/postgres", safe="")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "body: %s", (encoded,), None)
    RedactingFilter(Redactor(b"test")).filter(record)
    assert password not in record.getMessage()


def test_an_adversarial_32_kb_message_costs_milliseconds_in_the_log_filter() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "api-key" * 4681, None, None)
    started = time.perf_counter()
    RedactingFilter(Redactor(b"test")).filter(record)
    assert time.perf_counter() - started < 0.2


def test_slow_clients_are_dropped_and_healthz_keeps_answering(door: str) -> None:
    host, port = door.removeprefix("http://").split(":")
    slow = []
    for _ in range(200):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        slow.append(sock)
    try:
        started = time.perf_counter()
        assert httpx.get(f"{door}/healthz", timeout=5).status_code == 200
        assert time.perf_counter() - started < 1.0
        time.sleep(1.6)  # the door drops a request not whole within 1 s (10 s in production)
        for sock in slow:
            sock.settimeout(2)
            assert sock.recv(100) == b""
    finally:
        for sock in slow:
            sock.close()
