"""`schema`: a missing schema, a missing table and a permission problem told apart on a real
server (incidents.md §4), each with its likely cause."""

from __future__ import annotations

from bot.results import Verdict
from bot.sandbox.jobs import SCHEMA

from conftest import db_context, everything_shown, run
from fakes.pg import TempDatabase, run_sql
from fakes.pgbouncer import free_port


async def test_all_tables_present(tempdb: TempDatabase) -> None:
    run_sql(tempdb.url, SCHEMA)
    result = await run(db_context(tempdb.url), "schema production")
    assert result.verdict is Verdict.OK
    assert result.summary == (
        f"All 3 required tables exist in database {tempdb.name} at 127.0.0.1 and postgres "
        "can read them."
    )


async def test_a_missing_schema_means_migrations_never_ran(tempdb: TempDatabase) -> None:
    result = await run(db_context(tempdb.url), "schema production")
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith(
        f"Missing in database {tempdb.name} at 127.0.0.1: upload_pipeline.upload_jobs, "
        "upload_pipeline.documents, upload_pipeline.document_chunks "
        "(schema upload_pipeline does not exist). Likely cause: migrations were not applied"
    )
    assert "points at another project" in result.summary
    assert dict(result.details.rows)["upload_pipeline.documents"] == (
        "schema upload_pipeline missing"
    )


async def test_a_missing_table_is_named_exactly(tempdb: TempDatabase) -> None:
    run_sql(tempdb.url, SCHEMA + "DROP TABLE upload_pipeline.document_chunks;")
    result = await run(db_context(tempdb.url), "schema production")
    assert result.summary.startswith(
        f"Missing in database {tempdb.name} at 127.0.0.1: upload_pipeline.document_chunks. "
    )
    assert dict(result.details.rows)["upload_pipeline.upload_jobs"] == "ok"


async def test_a_table_in_another_schema_is_pointed_out(tempdb: TempDatabase) -> None:
    run_sql(
        tempdb.url,
        SCHEMA + "DROP TABLE upload_pipeline.documents; CREATE TABLE public.documents (id int);",
    )
    result = await run(db_context(tempdb.url), "schema production")
    assert "upload_pipeline.documents exists as public.documents" in result.hints[0]


async def test_a_role_without_usage_on_the_schema(tempdb: TempDatabase) -> None:
    run_sql(tempdb.url, SCHEMA)
    role = tempdb.role("fracas_reader")
    result = await run(db_context(tempdb.url_as(role)), "schema production")
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith(f"Role {role} cannot read upload_pipeline.upload_jobs, ")
    assert f"GRANT USAGE ON SCHEMA upload_pipeline TO {role};" in result.summary
    assert dict(result.details.rows)["upload_pipeline.documents"] == (
        "no USAGE on schema upload_pipeline"
    )


async def test_a_role_without_select_on_one_table(tempdb: TempDatabase) -> None:
    role = tempdb.role("fracas_reader")
    run_sql(
        tempdb.url,
        SCHEMA
        + f'GRANT USAGE ON SCHEMA upload_pipeline TO "{role}";'
        + f'GRANT SELECT ON upload_pipeline.upload_jobs, upload_pipeline.documents TO "{role}";',
    )
    result = await run(db_context(tempdb.url_as(role)), "schema production")
    assert result.summary == (
        f"Role {role} cannot read upload_pipeline.document_chunks. "
        f"GRANT SELECT ON upload_pipeline.document_chunks TO {role};"
    )


async def test_an_unreachable_database_is_named_not_crashed() -> None:
    ctx = db_context(f"postgresql://u:S3cretPassw0rd@127.0.0.1:{free_port()}/db")
    result = await run(ctx, "schema production")
    assert result.verdict is Verdict.FAIL
    assert result.title == "Schema: production database (catalog)"
    assert result.summary.startswith("Nothing listens on 127.0.0.1:")
    assert "S3cretPassw0rd" not in everything_shown(result)
