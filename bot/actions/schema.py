"""`schema <env>`: are the tables the app needs there, and can it read them?

Postgres says `relation "x.y" does not exist` whether the schema or only the table is missing,
and `to_regclass()` itself fails without USAGE (reference §4), so the catalogs are read
directly: `pg_namespace` and `pg_class` are visible to every role, and the privilege functions
answer without raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.database import DatabaseError, Source, database, reading
from bot.actions.params import POSITIONAL, EnvName, ServiceName
from bot.actions.registry import ActionContext, action
from bot.integrations.supabase import parse_db_url
from bot.results import StepResult, Table, Verdict

RELATIONS = "('r', 'p', 'v', 'm', 'f')"  # tables, partitioned tables, views, foreign tables
QUERY = f"""
SELECT r.nsp, r.rel, n.oid IS NOT NULL AS has_schema, c.oid IS NOT NULL AS has_table,
       n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'USAGE') AS usage,
       c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') AS can_select,
       ARRAY(SELECT n2.nspname || '.' || c2.relname
             FROM pg_class c2 JOIN pg_namespace n2 ON n2.oid = c2.relnamespace
             WHERE c2.relname = r.rel AND c2.relkind IN {RELATIONS}
               AND n2.nspname <> r.nsp ORDER BY 1) AS elsewhere
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(nsp, rel, ord)
LEFT JOIN pg_namespace n ON n.nspname = r.nsp
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel AND c.relkind IN {RELATIONS}
ORDER BY r.ord
"""
WHO = "SELECT current_database() AS db, current_user AS who"


class SchemaParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    service: ServiceName | None = Field(None, description="check this service's DATABASE_URL")


@dataclass(frozen=True)
class Found:
    """One required relation as the catalogs see it."""

    name: str
    schema: str
    has_schema: bool
    has_table: bool
    usage: bool
    can_select: bool
    elsewhere: tuple[str, ...]

    @property
    def state(self) -> str:
        if not self.has_schema:
            return f"schema {self.schema} missing"
        if not self.has_table:
            return "missing" + (f" (found {', '.join(self.elsewhere)})" if self.elsewhere else "")
        if not self.usage:
            return f"no USAGE on schema {self.schema}"
        if not self.can_select:
            return "no SELECT"
        return "ok"


@action("schema")
async def schema(ctx: ActionContext, params: SchemaParams) -> StepResult:
    """Check that the required tables exist and can be read."""
    source = await database(ctx, params.env, params.service)
    required = ctx.catalog.schema_.required
    pairs = [name.split(".", 1) if "." in name else ["public", name] for name in required]
    try:
        async with reading(source) as ro:
            who = await ro.fetchrow(WHO)
            rows = await ro.fetch(QUERY, [p[0] for p in pairs], [p[1] for p in pairs])
    except DatabaseError as exc:
        return exc.result(f"Schema: {source.label}")
    assert who is not None
    found = [
        Found(
            name,
            r["nsp"],
            r["has_schema"],
            r["has_table"],
            r["usage"],
            r["can_select"],
            tuple(r["elsewhere"]),
        )
        for name, r in zip(required, rows, strict=True)
    ]
    return _result(found, source, who["db"], who["who"])


def _result(found: list[Found], source: Source, db: str, who: str) -> StepResult:
    title = f"Schema: {source.label}"
    url = parse_db_url(source.dsn)
    place = f"database {db} at {url.host if url else '?'}"
    project = url.project if url else None
    facts = (("database", place), ("role", who)) + ((("project", project),) if project else ())
    details = Table(("relation", "state"), tuple((f.name, f.state) for f in found))
    data = {"relations": {f.name: f.state for f in found}}
    if not found:
        return StepResult(Verdict.INFO, title, "The catalog lists no required tables.")
    if all(f.state == "ok" for f in found):
        summary = f"All {len(found)} required tables exist in {place} and {who} can read them."
        return StepResult(Verdict.OK, title, summary, facts, details, data=data)
    missing = [f for f in found if not f.has_table]
    denied = [f for f in found if f.has_table and f.state != "ok"]
    parts, hints = [], []
    if missing:
        schemas = sorted({f.schema for f in missing if not f.has_schema})
        gone = f" (schema {', '.join(schemas)} does not exist)" if schemas else ""
        parts.append(f"missing in {place}: {', '.join(f.name for f in missing)}{gone}")
        moved = [f"{f.name} exists as {', '.join(f.elsewhere)}" for f in missing if f.elsewhere]
        if moved:
            hints.append(
                f"{'; '.join(moved)}: the migrations used another schema, or the catalog's "
                "schema.required names the wrong one."
            )
        hints.append(
            "Likely cause: migrations were not applied in this environment, or the URL points "
            f"at another project{f' (this is project {project})' if project else ''}. Compare "
            f"with `schema <other env>` and `envdiff` of DATABASE_URL."
        )
    if denied:
        parts.append(f"role {who} cannot read {', '.join(f.name for f in denied)}")
        for nsp in sorted({f.schema for f in denied if not f.usage}):
            hints.append(f"GRANT USAGE ON SCHEMA {nsp} TO {who};")
        tables = [f.name for f in denied if f.usage and not f.can_select]
        if tables:
            hints.append(f"GRANT SELECT ON {', '.join(tables)} TO {who};")
    said = "; ".join(parts)
    summary = f"{said[0].upper()}{said[1:]}. {hints[-1 if missing else 0]}"
    return StepResult(Verdict.FAIL, title, summary, facts, details, tuple(hints), data=data)
