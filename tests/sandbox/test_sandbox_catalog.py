"""The sandbox builds its catalog in code (it ships without the repository's files); it must
describe the same stack as fracas.example.yaml, which users copy."""

from __future__ import annotations

import yaml

from bot.sandbox.fm030 import catalog
from bot.sandbox.render_api import FakeRender

from conftest import EXAMPLE


def test_the_sandbox_catalog_is_the_example_stack() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    with FakeRender() as fake:
        built = catalog(fake)
    assert built["default_env"] == example["default_env"]
    assert built["required_env"] == example["required_env"]
    for env, spec in example["environments"].items():
        services = built["environments"][env]["services"]
        assert {name: s["render"] for name, s in services.items()} == {
            name: s["render"] for name, s in spec["services"].items()
        }
        assert services["api"]["health_url"] == fake.health_url(f"api-service-{env}")
