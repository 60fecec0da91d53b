"""Health checks judged as Render judges them, with the reason named when there is no answer."""

from __future__ import annotations

import socket

import httpx

from bot.integrations.http import Health, HealthProbe, _reason
from bot.sandbox.render_api import FakeRender


async def test_2xx_and_3xx_pass_other_statuses_fail(render: FakeRender) -> None:
    probe = HealthProbe()
    for status, ok in ((200, True), (302, True), (503, False)):
        render.set_health("api", status)
        health = await probe.check(render.health_url("api"))
        assert (health.status, health.ok) == (status, ok)
        assert health.describe().startswith(f"HTTP {status} in ")
    await probe.aclose()


async def test_no_answer_in_time(render: FakeRender) -> None:
    render.set_health("api", 200, delay=2)
    probe = HealthProbe(timeout=0.2)
    health = await probe.check(render.health_url("api"))
    assert not health.ok and health.error == "no answer within 0.2 s"
    assert health.ms < 1000
    await probe.aclose()


async def test_refused_and_tls_failures_are_named(render: FakeRender, unused_tcp_port: int) -> None:
    probe = HealthProbe()
    refused = await probe.check(f"http://127.0.0.1:{unused_tcp_port}/health")
    assert refused.error == "connection refused: nothing listens on that port"
    tls = await probe.check(render.health_url("api").replace("http://", "https://"))
    assert tls.error.startswith("TLS: ")
    await probe.aclose()


def test_dns_failures_are_named() -> None:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert _reason(error) == "DNS: the host name does not resolve (Name or service not known)"


def test_a_failure_shows_its_url() -> None:
    health = Health("https://api.example.com/health", None, 5.0, "connection refused")
    assert health.describe() == "connection refused (https://api.example.com/health)"
