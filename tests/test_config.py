"""Settings and the catalog: what loads, and how each mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Catalog, load_catalog, load_settings
from bot.errors import ConfigError

from conftest import ENV, EXAMPLE


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "fracas.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_catalog(path, env or {})
    return [str(p).replace(str(path), "fracas.yaml") for p in info.value.problems]


def test_the_example_catalog_describes_the_incident_stack(catalog: Catalog) -> None:
    assert catalog.env_names == ["staging", "production"]
    assert catalog.services == ["api", "worker"]
    assert catalog.environments["production"].services["worker"].render == (
        "upload-worker-production"
    )
    assert catalog.required_env["worker"][-1] == "DOCUMENT_ENCRYPTION_KEY"
    assert catalog.jobs.stuck_after.total_seconds() == 3600
    assert catalog.unresolved == []


def test_secrets_come_from_variables_and_never_print(catalog: Catalog) -> None:
    url = catalog.environments["production"].database_url
    assert url is not None and url.get_secret_value() == ENV["PRODUCTION_DATABASE_URL"]
    assert "pw@" not in repr(catalog) and "pw@" not in str(url)


def test_an_unset_variable_is_reported_but_does_not_stop_loading() -> None:
    catalog = load_catalog(EXAMPLE, {"STAGING_DATABASE_URL": "postgresql://x"})
    assert [str(p) for p in catalog.unresolved] == [
        f"{EXAMPLE}:15: environments.production.database_url: "
        "${PRODUCTION_DATABASE_URL} is not set"
    ]
    assert catalog.environments["production"].database_url is None


def test_every_problem_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
incident_channel: "#incidents"
environments:
  staging:
    database_url: postgresql://postgres:hunter2@db.x.supabase.co:5432/postgres
    services:
      api: {render: api-service-staging, health_url: not-a-url}
      worker: {rendr: upload-worker-staging}
alerts:
  routes:
    - {match: {service: worker}, runbook: worker-down, severity: P9}
""",
    )
    assert found == [
        "fracas.yaml:4: environments.staging.database_url: holds a password in clear; set it "
        "in an environment variable and write ${VARIABLE} here",
        "fracas.yaml:1: incident_channel: '#incidents' is not a channel ID; use the ID (like "
        "C0123456789) from the channel's details, not its name",
        "fracas.yaml:6: environments.staging.services.api.health_url: relative URL without a base",
        "fracas.yaml:7: environments.staging.services.worker.render: required key is missing",
        "fracas.yaml:7: environments.staging.services.worker.rendr: unknown key (check the "
        "spelling)",
        "fracas.yaml:10: alerts.routes.0.severity: Input should be 'P0', 'P1' or 'P2'",
    ]
    assert not any("hunter2" in p for p in found)


def test_names_that_must_agree_are_checked(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
default_env: prod
environments:
  production:
    services: {api: {render: api-service-production}}
required_env:
  wroker: [DATABASE_URL]
alerts:
  routes:
    - {match: {service: worker}, runbook: worker-down}
""",
    )
    assert found == [
        "fracas.yaml:1: default_env: 'prod' is not an environment (production)",
        "fracas.yaml:6: required_env.wroker: no environment has a service 'wroker' (services: api)",
        "fracas.yaml:9: alerts.routes.0.match.service: no environment has a service 'worker' "
        "(services: api)",
    ]


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    assert problems(tmp_path, "environments: [staging,\nfoo: 1\n") == [
        "fracas.yaml:3: invalid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalog(tmp_path / "nope.yaml", {})


def test_settings_read_the_names_users_know(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "")
    monkeypatch.setenv("PORT", "10000")
    settings = load_settings(_env_file=None)
    assert settings.port == 10000 and settings.socket_mode is False
    assert "xoxb-1" not in repr(settings)


def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert info.value.problems[0].where == "PORT"
