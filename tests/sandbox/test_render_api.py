"""Self-test of the Render fake over real HTTP (httpx), so clients can trust what it answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import load_catalog
from bot.sandbox.fm030 import MISSING_ON_PRODUCTION_WORKER, catalog_yaml, load_fm030
from bot.sandbox.render_api import FakeRender, Json

NOW = datetime.now(UTC).replace(microsecond=0)
RATE_HEADERS = ("Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset", "Render-Request-Id")


@pytest.fixture
def fake() -> Iterator[FakeRender]:
    with FakeRender() as server:
        yield server


@pytest.fixture
def client(fake: FakeRender) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    with httpx.Client(base_url=fake.api_url, headers=headers) as http:
        yield http


def lines(
    count: int, start: datetime = NOW - timedelta(minutes=30)
) -> list[tuple[datetime, str, str]]:
    return [(start + timedelta(seconds=i), "info", f"line {i}") for i in range(count)]


def read_all_logs(client: httpx.Client, params: Json) -> tuple[list[str], int]:
    """Follow nextStartTime/nextEndTime as a client must; returns messages and page count."""
    messages: list[str] = []
    pages = 0
    while True:
        body = client.get("/logs", params=params).json()
        pages += 1
        messages += [entry["message"] for entry in body["logs"]]
        if not body["hasMore"]:
            assert body["nextStartTime"] is None and body["nextEndTime"] is None
            return messages, pages
        params = {**params, "startTime": body["nextStartTime"], "endTime": body["nextEndTime"]}


# auth, errors, headers


def test_unauthorized_carries_render_headers(client: httpx.Client) -> None:
    resp = client.get("/owners", headers={"Authorization": "Bearer rnd_wrong"})
    assert (resp.status_code, resp.json()) == (401, {"message": "unauthorized"})
    assert all(name in resp.headers for name in RATE_HEADERS)
    assert resp.headers["Render-Request-Id"].startswith("api-fake/req-")


def test_request_ids_unique_and_reset_in_seconds(client: httpx.Client) -> None:
    first, second = client.get("/owners"), client.get("/owners")
    assert first.headers["Render-Request-Id"] != second.headers["Render-Request-Id"]
    assert int(second.headers["Ratelimit-Remaining"]) == 398
    assert 0 < int(second.headers["Ratelimit-Reset"]) <= 60  # seconds, not an epoch
    assert first.json()[0]["owner"]["name"] == "Insurance Navigator"


def test_unknown_ids_answer_404_with_the_id(fake: FakeRender, client: httpx.Client) -> None:
    service = fake.add_service("api", env_vars={"A": "1"})
    for path, missing in [
        ("/services/srv-nope", "srv-nope"),
        (f"/services/{service['id']}/env-vars/NOPE", "NOPE"),
        (f"/services/{service['id']}/deploys/dep-nope", "dep-nope"),
        ("/events/evt-nope", "evt-nope"),
        ("/nothing/here", "/v1/nothing/here"),
    ]:
        resp = client.get(path)
        assert (resp.status_code, resp.json()) == (404, {"message": f"not found: {missing}"})
        assert "Ratelimit-Remaining" in resp.headers


# cursor pages and filters


def test_env_vars_page_by_cursor(fake: FakeRender, client: httpx.Client) -> None:
    env = {f"KEY_{i}": f"value {i}" for i in range(5)}
    service_id = fake.add_service("worker", "background_worker", env_vars=env)["id"]
    path = f"/services/{service_id}/env-vars"
    seen: dict[str, str] = {}
    params: Json = {"limit": 2}
    while page := client.get(path, params=params).json():
        assert len(page) <= 2
        seen |= {item["envVar"]["key"]: item["envVar"]["value"] for item in page}
        params = {"limit": 2, "cursor": page[-1]["cursor"]}
    cursor = params["cursor"]
    assert seen == env and list(seen) == list(env)
    assert client.get(path, params={"cursor": cursor}).json() == []
    assert len(client.get(path, params={"limit": 0}).json()) == 1
    assert client.get(f"{path}/KEY_3").json() == {"key": "KEY_3", "value": "value 3"}


def test_limit_defaults_to_20_and_caps_at_100(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("api", env_vars={f"K{i}": "v" for i in range(130)})["id"]
    path = f"/services/{service_id}/env-vars"
    assert len(client.get(path).json()) == 20
    assert len(client.get(path, params={"limit": 500}).json()) == 100


def test_service_filters_comma_and_repeated(fake: FakeRender, client: httpx.Client) -> None:
    fake.add_service("api-service-staging")
    fake.add_service("upload-worker-staging", "background_worker")
    fake.add_service("old-cron", "cron_job", suspended=True)

    def names(query: str) -> list[str]:
        return [item["service"]["name"] for item in client.get(f"/services?{query}").json()]

    both = ["api-service-staging", "upload-worker-staging"]
    assert names("type=web_service,background_worker") == both
    assert names("type=web_service&type=background_worker") == both
    assert names("name=api-service") == []  # exact match only
    assert names("name=old-cron,api-service-staging") == ["api-service-staging", "old-cron"]
    assert names("suspended=suspended") == ["old-cron"]
    assert names(f"ownerId={fake.owner_id}&suspended=not_suspended") == both
    assert names("ownerId=tea-other") == []


def test_service_shapes(fake: FakeRender, client: httpx.Client) -> None:
    web = fake.add_service("api", open_ports=[10000], health_check_path="/health")
    bare = fake.add_service("api-2")
    worker = fake.add_service("worker", "background_worker", suspended=True)
    got = client.get(f"/services/{web['id']}").json()
    assert got == web and got["id"].startswith("srv-") and len(got["id"]) == 24
    details = got["serviceDetails"]
    assert details["openPorts"] == [{"port": 10000, "protocol": "TCP"}]
    assert (details["healthCheckPath"], details["url"]) == ("/health", "https://api.onrender.com")
    assert client.get(f"/services/{bare['id']}").json()["serviceDetails"]["openPorts"] is None
    got = client.get(f"/services/{worker['id']}").json()
    assert (got["suspended"], got["suspenders"]) == ("suspended", ["user"])
    assert "openPorts" not in got["serviceDetails"] and "url" not in got["serviceDetails"]
    assert client.get(f"/services/{worker['id']}/instances").json() == []


def test_instances_one_per_instance(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("api", num_instances=2)["id"]
    got = [i["id"] for i in client.get(f"/services/{service_id}/instances").json()]
    assert got == fake.instance_ids(service_id) and len(set(got)) == 2
    assert all(i.startswith(f"{service_id}-") and len(i) == len(service_id) + 6 for i in got)


def test_deploys_newest_first_with_status_filter(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("worker", "background_worker")["id"]
    old = fake.add_deploy(service_id, "deactivated", created_at=NOW - timedelta(days=2))
    live = fake.add_deploy(service_id, "live", created_at=NOW - timedelta(days=1))
    failed = fake.add_deploy(service_id, "update_failed", commit_message=None)
    running = fake.add_deploy(service_id, "build_in_progress", created_at=NOW)
    path = f"/services/{service_id}/deploys"
    order = [item["deploy"]["id"] for item in client.get(path).json()]
    assert order == [running["id"], failed["id"], live["id"], old["id"]]
    for query in ("status=live,deactivated", "status=live&status=deactivated"):
        assert [d["deploy"]["id"] for d in client.get(f"{path}?{query}").json()] == [
            live["id"],
            old["id"],
        ]
    assert client.get(f"{path}/{failed['id']}").json() == failed
    assert failed["commit"] is None and running["finishedAt"] is None
    assert live["commit"]["message"] == "Update" and live["finishedAt"] > live["startedAt"]


def test_events_newest_first_filtered(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("worker", "background_worker")["id"]
    for minutes, kind in [(50, "deploy_started"), (40, "server_failed"), (5, "server_failed")]:
        fake.add_event(service_id, kind, {"n": minutes}, timestamp=NOW - timedelta(minutes=minutes))
    path = f"/services/{service_id}/events"
    got = [e["event"]["details"]["n"] for e in client.get(path).json()]
    assert got == [5, 40, 50]
    query = {"type": "server_failed", "startTime": (NOW - timedelta(minutes=45)).isoformat()}
    got = [e["event"]["details"]["n"] for e in client.get(path, params=query).json()]
    assert got == [5, 40]
    end = str((NOW - timedelta(minutes=10)).timestamp())
    got = [e["event"]["details"]["n"] for e in client.get(f"{path}?endTime={end}").json()]
    assert got == [40, 50]


# logs


@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_logs_time_paging_reads_every_line_once(
    fake: FakeRender, client: httpx.Client, direction: str
) -> None:
    service_id = fake.add_service("worker", "background_worker")["id"]
    fake.add_logs(service_id, lines(250))
    params = {"ownerId": fake.owner_id, "resource": service_id, "limit": 100}
    messages, pages = read_all_logs(client, {**params, "direction": direction})
    expected = [f"line {i}" for i in range(250)]
    assert pages == 3
    assert messages == (expected if direction == "forward" else expected[::-1])


def test_logs_colliding_timestamps_stay_distinct(fake: FakeRender, client: httpx.Client) -> None:
    first = fake.add_service("api")["id"]
    second = fake.add_service("worker", "background_worker")["id"]
    at = NOW - timedelta(minutes=5)
    for service_id in (first, second, first):
        fake.add_log(service_id, f"from {service_id}", timestamp=at)
    params = {"ownerId": fake.owner_id, "resource": f"{first},{second}", "limit": 1}
    messages, pages = read_all_logs(client, params)
    assert pages == 3 and sorted(messages) == sorted([f"from {first}"] * 2 + [f"from {second}"])
    logs = client.get("/logs", params={**params, "limit": 5}).json()["logs"]
    stamps = [entry["timestamp"] for entry in logs]
    assert len(set(stamps)) == 3 and all(s.endswith("Z") and "." in s for s in stamps)


def test_logs_entry_shape(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("worker", "background_worker")["id"]
    fake.add_log(service_id, "boom", timestamp=NOW - timedelta(minutes=1), level="error")
    entry = client.get(f"/logs?ownerId={fake.owner_id}&resource={service_id}").json()["logs"][0]
    instance = fake.instance_ids(service_id)[0]
    assert entry["id"].startswith(f"{instance}-{entry['timestamp']}-")
    assert entry["labels"] == [
        {"name": "resource", "value": service_id},
        {"name": "instance", "value": instance},
        {"name": "level", "value": "error"},
        {"name": "type", "value": "app"},
    ]


def test_logs_filters_and_time_formats(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("api", num_instances=2)["id"]
    other = fake.instance_ids(service_id)[1]
    start = NOW - timedelta(minutes=10)
    fake.add_log(service_id, "GET /health 200", timestamp=start, type="request")
    later = start + timedelta(minutes=1)
    fake.add_log(service_id, "Disk almost FULL", timestamp=later, level="warning")
    latest = start + timedelta(minutes=2)
    fake.add_log(service_id, "crash", timestamp=latest, level="error", instance=other)
    base = f"/logs?ownerId={fake.owner_id}&resource={service_id}"

    def messages(query: str) -> list[str]:
        return [e["message"] for e in client.get(f"{base}&{query}").json()["logs"]]

    assert messages("level=warning,error") == ["crash", "Disk almost FULL"]
    assert messages("level=warning&level=error&direction=forward") == ["Disk almost FULL", "crash"]
    assert messages("type=request") == ["GET /health 200"]
    assert messages(f"instance={other}") == ["crash"]
    assert messages("text=full") == ["Disk almost FULL"]
    after = start + timedelta(seconds=30)
    assert messages(f"startTime={after.timestamp()}") == ["crash", "Disk almost FULL"]
    offset = after.astimezone(timezone(timedelta(hours=2))).isoformat().replace("+", "%2B")
    assert messages(f"endTime={offset}") == ["GET /health 200"]
    zulu = after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert messages(f"startTime={zulu}&limit=1") == ["crash"]


def test_logs_demand_owner_and_resource(fake: FakeRender, client: httpx.Client) -> None:
    service_id = fake.add_service("api")["id"]
    resp = client.get("/logs")
    assert resp.status_code == 400 and "ownerId" in resp.json()["message"]
    assert "resource" in resp.json()["message"]
    resp = client.get(f"/logs?ownerId={fake.owner_id}")
    assert resp.status_code == 400 and resp.json()["message"].endswith("resource")
    resp = client.get(f"/logs?resource={service_id}")
    assert resp.status_code == 400 and resp.json()["message"].endswith("ownerId")
    resp = client.get(f"/logs?ownerId=tea-other&resource={service_id}")
    assert (resp.status_code, resp.json()) == (404, {"message": "not found: tea-other"})
    resp = client.get(f"/logs?ownerId={fake.owner_id}&resource={service_id}&startTime=yesterday")
    assert resp.status_code == 400 and "startTime" in resp.json()["message"]


# rate limits, injected failures, latency


@contextmanager
def limited(**options: Any) -> Iterator[httpx.Client]:
    """A client on a fake of its own, for tests that spend its rate limit."""
    with FakeRender(**options) as fake:
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        with httpx.Client(base_url=fake.api_url, headers=headers) as http:
            yield http


def test_rate_limit_answers_429_with_retry_after() -> None:
    with limited(get_limit=3, window=2.0) as http:
        remaining = [http.get("/owners").headers["Ratelimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        resp = http.get("/services")
        assert resp.status_code == 429
        assert resp.json() == {"message": "Rate limit has been surpassed."}
        assert resp.headers["Ratelimit-Remaining"] == "0"
        assert resp.headers["Ratelimit-Reset"] in ("1", "2")
        assert resp.headers["Retry-After"] == resp.headers["Ratelimit-Reset"]


def test_rate_limit_without_retry_after_then_window_rolls() -> None:
    with limited(get_limit=1, window=0.2, retry_after=False) as http:
        assert http.get("/owners").status_code == 200
        resp = http.get("/owners")
        assert resp.status_code == 429 and "Retry-After" not in resp.headers
        assert resp.headers["Ratelimit-Reset"] == "1"
        time.sleep(0.25)
        assert http.get("/owners").headers["Ratelimit-Remaining"] == "0"


def test_fail_next(fake: FakeRender, client: httpx.Client) -> None:
    fake.fail_next(503, "upstream timeout", times=2)
    fake.fail_next(429, "Rate limit has been surpassed.", retry_after=1)
    assert [client.get("/owners").status_code for _ in range(2)] == [503, 503]
    resp = client.get("/services")
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "1")
    assert "Ratelimit-Limit" in resp.headers
    assert client.get("/owners").status_code == 200
    assert fake.calls("/v1/owners") == 3 and fake.calls("/v1/services") == 1


def test_fail_next_waits_for_an_authorised_request(fake: FakeRender, client: httpx.Client) -> None:
    fake.fail_next(500)
    assert client.get("/owners", headers={"Authorization": ""}).status_code == 401
    resp = client.get("/owners")
    assert (resp.status_code, resp.json()) == (500, {"message": "internal error"})


def test_delay(fake: FakeRender, client: httpx.Client) -> None:
    fake.delay = 0.1
    started = time.monotonic()
    assert client.get("/owners").status_code == 200
    assert time.monotonic() - started >= 0.1
    assert fake.requests == ["/v1/owners"]


def test_health_route(fake: FakeRender) -> None:
    fake.set_health("api-ok")
    fake.set_health("api-sick", 503, delay=0.1)
    with httpx.Client() as http:  # no key: the apps' own endpoints, not Render's API
        ok = http.get(fake.health_url("api-ok"))
        assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
        assert "Ratelimit-Limit" not in ok.headers
        started = time.monotonic()
        sick = http.get(fake.health_url("api-sick"))
        assert (sick.status_code, sick.json()) == (503, {"status": "unhealthy"})
        assert time.monotonic() - started >= 0.1
        assert http.get(fake.health_url("nope")).status_code == 404
    assert fake.calls("/apps/") == 3


# the FM-030 stack


def env_of(client: httpx.Client, service: Json) -> dict[str, str]:
    page = client.get(f"/services/{service['id']}/env-vars", params={"limit": 100}).json()
    return {item["envVar"]["key"]: item["envVar"]["value"] for item in page}


def test_fm030_production_worker_lacks_three_vars_and_uses_direct_host(
    fake: FakeRender, client: httpx.Client
) -> None:
    stack = load_fm030(fake)
    staging = env_of(client, stack.services["upload-worker-staging"])
    production = env_of(client, stack.services["upload-worker-production"])
    assert set(staging) - set(production) == {*MISSING_ON_PRODUCTION_WORKER, "SENTRY_DSN"}
    assert set(production) - set(staging) == {"NEW_RELIC_APP_NAME"}
    assert f"@db.{stack.refs['production']}.supabase.co:5432/" in production["DATABASE_URL"]
    assert ".pooler.supabase.com:6543/" in staging["DATABASE_URL"]
    api = env_of(client, stack.services["api-service-production"])
    assert f"postgres.{stack.refs['production']}:" in api["DATABASE_URL"]
    assert api["PORT"] == "10000" and staging["WORKER_CONCURRENCY"] == "2"
    assert staging["SUPABASE_SERVICE_ROLE_KEY"].startswith("eyJ")
    assert production["SUPABASE_ANON_KEY"].count(".") == 2
    assert production["OPENAI_API_KEY"] in stack.secrets.values()
    assert production["OPENAI_API_KEY"] != staging["OPENAI_API_KEY"]


def test_fm030_deploys_events_logs_and_health(fake: FakeRender, client: httpx.Client) -> None:
    stack = load_fm030(fake, NOW)
    worker = stack.services["upload-worker-production"]["id"]
    latest = client.get(f"/services/{worker}/deploys?limit=1").json()[0]["deploy"]
    assert latest == stack.failed_deploy and latest["status"] == "update_failed"
    events = [e["event"] for e in client.get(f"/services/{worker}/events?limit=100").json()]
    kinds = [e["type"] for e in events]
    assert kinds.count("server_failed") >= 5
    ended = next(e for e in events if e["type"] == "deploy_ended")
    assert ended["details"]["deployId"] == latest["id"]
    assert ended["details"]["deployStatus"] == "failed"
    params = {"ownerId": fake.owner_id, "resource": worker, "limit": 100, "level": "error"}
    errors = client.get("/logs", params=params).json()["logs"]
    assert errors[0]["message"] == "CONFIGURATION_ERROR_FATAL threshold exceeded"
    assert errors[1]["message"] == "OSError: [Errno 101] Network is unreachable"
    leak = {"ownerId": fake.owner_id, "resource": worker, "text": "DATABASE_URL="}
    assert len(client.get("/logs", params=leak).json()["logs"]) == 1
    api = stack.services["api-service-production"]
    assert client.get(fake.health_url(api["name"])).json() == {"status": "ok"}


def test_fm030_catalog_loads(fake: FakeRender, tmp_path: Path) -> None:
    load_fm030(fake)
    path = tmp_path / "fracas.yaml"
    path.write_text(catalog_yaml(fake))
    catalog = load_catalog(path, {"STAGING_DATABASE_URL": "x", "PRODUCTION_DATABASE_URL": "y"})
    api = catalog.environments["production"].services["api"]
    assert str(api.health_url) == fake.health_url("api-service-production")
    assert catalog.required_env["worker"][-1] == "DOCUMENT_ENCRYPTION_KEY"
