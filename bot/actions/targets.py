"""From the names a user types to what Render knows: catalog service + environment, or an id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.actions.registry import ActionContext
from bot.durations import format_age
from bot.errors import UsageError


@dataclass(frozen=True)
class Target:
    """A service in an environment: `name` as typed, `render` the Render name or srv- id."""

    name: str
    env: str | None
    render: str
    health_url: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.env})" if self.env else self.name


def environment(ctx: ActionContext, env: str | None) -> str:
    """The environment meant: as typed, else the catalog's default."""
    chosen = env or ctx.catalog.fallback_env
    if chosen is None:
        raise UsageError(
            "the catalog has no environments yet.",
            "Describe them in fracas.yaml (start from fracas.example.yaml).",
        )
    return chosen


def target(ctx: ActionContext, service: str, env: str | None) -> Target:
    """A catalog service in an environment; a Render name from the catalog names both; a srv-
    id not in the catalog stands for itself."""
    known = ctx.catalog.by_render(service)
    if known and service not in ctx.catalog.services:
        if env not in (None, known[0]):
            raise UsageError(f"'{service}' is {known[1]} in {known[0]}, not in {env}.")
        service, env = known[1], known[0]
    elif service.startswith(("srv-", "crn-")):
        return Target(service, env, service)
    chosen = environment(ctx, env)
    spec = ctx.catalog.environments[chosen].services.get(service)
    if spec is None:
        elsewhere = [e for e, s in ctx.catalog.environments.items() if service in s.services]
        raise UsageError(
            f"service '{service}' is not in environment '{chosen}'.",
            f"It is in: {', '.join(elsewhere)}." if elsewhere else "",
        )
    health = str(spec.health_url) if spec.health_url else None
    return Target(service, chosen, spec.render, health)


def now() -> datetime:
    return datetime.now(UTC)


def ago(moment: datetime | None, at: datetime) -> str:
    """`12m ago`, `5h ago`, `3d ago`, `1y ago`: one unit, as a person says it."""
    if moment is None:
        return "-"
    return format_age(at - moment) + " ago"
