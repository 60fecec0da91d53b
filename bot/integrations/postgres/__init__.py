"""asyncpg against Postgres, PgBouncer and Supavisor: URL checks, staged probes, read-only
sessions and the classifier that names a failure's cause (reference/postgres-failures.md)."""
