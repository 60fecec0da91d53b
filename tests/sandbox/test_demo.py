"""`fracas demo` with its databases: `db`, `stuck` and `schema` answer from real servers in
both environments, in the states of FM-028, FM-030 and incident 4, and nothing it made
outlives it."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from bot.sandbox.demo import sandbox
from bot.sandbox.fm030 import POOLER

from test_cli import fracas

TOUR = (
    "db production",
    "db staging",
    "stuck staging",
    "schema production",
    "schema staging",
    "db production --service worker",
    "db production --service api",
)


def answers(out: str) -> dict[str, str]:
    """Each scripted command's output, by command (the demo echoes it after the prompt)."""
    blocks = out.split("fracas> ")[1:]
    return {b.split("\n", 1)[0]: b.split("\n", 1)[1] for b in blocks if "\n" in b}


def test_the_database_tour_answers_from_real_servers(tmp_path: Path) -> None:
    script = tmp_path / "tour.txt"
    script.write_text("\n".join(TOUR) + "\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = fracas("demo", "--script", str(script), cwd=tmp_path, TMPDIR=str(scratch))
    assert done.returncode == 0, done.stdout + done.stderr
    said = answers(done.stdout)
    assert list(said) == list(TOUR)
    for command, text in said.items():
        first = text.lstrip().split("\n", 1)[0]
        assert first.startswith(("✔ OK", "✖ FAIL")), (command, first)  # never ! ERROR nor ▲
    for command in ("db production", "db staging", "db production --service api"):
        assert f"{POOLER}:" in said[command] and "Reachable: PostgreSQL 18" in said[command]
        assert "login" in said[command] and "A 127.0.0.1; AAAA none" in said[command]
    stuck = " ".join(said["stuck staging"].split())
    assert "7 jobs stuck over 1h (queued 2, working 5)" in stuck
    assert "60 job errors in 24h" in stuck and "deadlock" in stuck.lower()
    schema = " ".join(said["schema production"].split())
    assert "✖ FAIL Schema: production" in schema
    assert (
        "Missing in database postgres at" in schema and "upload_pipeline.document_chunks" in schema
    )
    assert "✔ OK Schema: staging" in said["schema staging"]
    worker = " ".join(said["db production --service worker"].split())
    assert "supabase.co has only an IPv6 address" in worker and "2001:db8::1" in worker
    assert not list(scratch.iterdir()), "the demo left files behind"


def test_the_sandbox_stops_its_servers_and_deletes_its_directories() -> None:
    with sandbox() as box:
        made = [box.home, *(server.dir for server in box.servers.values())]
        ports = [server.port for server in box.servers.values()]
        assert all(path is not None and path.exists() for path in made)
        assert box.stack.ports == {env: s.port for env, s in box.servers.items()}
        for port in ports:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not [path for path in made if path is not None and path.exists()]
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def _causes(text: str) -> list[str]:
    """A report's likely causes, each on one line again (the terminal wraps them)."""
    block = text[text.index("Likely cause:") :].split("\n\n")[0].split("Also noticed")[0]
    return [" ".join(c.split()) for c in re.split(r"\n  \d\. ", block)[1:]]


def _cause(text: str, n: int) -> str:
    return _causes(text)[n - 1]


def test_the_tour_gives_every_runbook_a_verdict_a_reviewer_agrees_with(tmp_path: Path) -> None:
    """`fracas demo --tour`: the six built-in runbooks on the sandbox's Render and databases.
    None ends in ERROR, each names the cause of its own incident, and the healthy API is not
    blamed for the worker."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = fracas("demo", "--tour", cwd=tmp_path, TMPDIR=str(scratch))
    assert done.returncode == 0, done.stdout + done.stderr
    said = answers(done.stdout)
    assert len(said) == 6
    heads = {c: " ".join(t.split("\nLikely cause")[0].split()) for c, t in said.items()}
    for command, text in said.items():
        assert "! ERROR" not in text, command
    api = said["run api-down production"]
    assert "✔ OK API down in production" in heads["run api-down production"]
    assert "Likely cause" not in api and "worker failing" in api[api.index("Also noticed") :]
    worker = said["run worker-down production"]
    assert "lacks 3 required variables" in _cause(worker, 1)
    assert "only an IPv6 address" in _cause(worker, 2)
    deploy = said["run deploy-failed production service=worker"]
    assert "only an IPv6 address" in _cause(deploy, 1) and "Also noticed" not in deploy
    connectivity = said["run db-connectivity production"]
    assert _cause(connectivity, 1).startswith("db worker: The database host db.")
    assert "does not resolve" not in connectivity, "the pooler host resolves in the sandbox"
    schema = said["run schema-missing production"]
    assert "upload_pipeline.document_chunks" in _cause(schema, 1)
    webhooks = said["run webhook-failures staging"]
    assert _cause(webhooks, 1).startswith("stuck: 7 jobs stuck")
    assert "deadlock" in webhooks
    for text in said.values():
        if "Likely cause:" in text:
            assert all(len(line) <= 160 for line in _causes(text)), _causes(text)
    padded = [line for line in done.stdout.splitlines() if line.endswith(" ")]
    assert not padded, f"lines end in padding in a pipe: {padded[:3]}"
    assert "logs-api-production.txt" in done.stdout, "a log window was saved"
    assert not list(scratch.iterdir()), "the demo left files behind, saved logs included"


def test_the_pooler_keeps_its_ports_and_their_modes(tmp_path: Path) -> None:
    """The sandbox forwards Supavisor's 6543 (staging, transaction) and 5432 (production,
    session) to its servers, so the URLs and what `db` and `envdiff` say of them stay true."""
    script = tmp_path / "ports.txt"
    script.write_text("db staging\nenvdiff worker\n")
    done = fracas("demo", "--script", str(script), cwd=tmp_path)
    said = {c: " ".join(t.split()) for c, t in answers(done.stdout).items()}
    assert "transaction mode (port 6543)" in said["db staging"]
    assert "port 6543 (forwarded to " in said["db staging"]
    assert "port 6543 → 5432" in said["envdiff worker"]
