"""Redaction against the public scanner suites (tests/data/secrets/corpus.json, each case with
its source), the leaks found by hand, the order in which secrets are learned, and speed on
adversarial input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.redact import Redactor, is_secret

CORPUS = json.loads((Path(__file__).parent / "data" / "secrets" / "corpus.json").read_text())
TRUE = CORPUS["true_positives"]
FALSE = CORPUS["false_positives"]


def test_the_corpus_covers_sixty_providers() -> None:
    assert len({case["provider"] for case in TRUE}) >= 60


@pytest.mark.parametrize("case", TRUE, ids=[f"{c['provider']}-{i}" for i, c in enumerate(TRUE)])
def test_every_true_positive_is_masked(case: dict[str, str]) -> None:
    out = Redactor(b"test").text(case["text"]).replace("[secret ", "[")
    assert case["secret"] not in out, f"{case['provider']} ({case['source']}) leaked: {out}"


@pytest.mark.parametrize("case", FALSE, ids=[f"{c['kind']}-{i}" for i, c in enumerate(FALSE)])
def test_look_alikes_stay_readable(case: dict[str, str]) -> None:
    assert Redactor(b"test").text(case["text"]) == case["text"], case["source"]


PASSWORD = "Zq84-mVt3-Ww19"
LEAKS = [
    "password=84736251",
    '{"password":"84736251"}',
    "PGPASSWORD=84736251 psql -h db",
    "DB_PASS=hunter2hunter",
    "mysql -uroot -pS3cretPw! -h db",
    "psql --password S3cretPw! -h db",
    "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    "BASIC_AUTH=admin:letmein-please",
    "NEW_RELIC_LICENSE_KEY=eu01xxaa7d3b0c7e4f1a2b3c4d5e6f7a8b9cNRAL",
    "SENTRY_DSN=https://0123456789abcdef0123456789abcdef@o4505.ingest.sentry.io/42",
    "Twilio SK2b4cc552783500ace5414a1ed3e9fd1a ready",
    "mailgun key-46cebd38c59ac222e6cf991581411eaf",
]


@pytest.mark.parametrize("text", LEAKS)
def test_leaks_found_by_hand_are_masked(text: str) -> None:
    out = Redactor(b"test").text(text)
    assert "[secret " in out, out
    for word in ("84736251", "hunter2hunter", "S3cretPw", "dXNlcjpw", "YWxhZGRp", "letmein",
                 "eu01xxaa", "0123456789abcdef", "SK2b4cc5", "key-46ce"):  # fmt: skip
        assert word not in out, out


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres.ref:p@ss/w0rd@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
        "postgresql://postgres.ref:my pass w0rd@aws-0-us-east-1.pooler.supabase.com:5432/postgres",
        "postgresql://postgres:a@b@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
    ],
)
def test_url_passwords_with_at_slash_or_space_are_masked(url: str) -> None:
    secret = url.split(":", 2)[2].rsplit("@", 1)[0]
    out = Redactor(b"test").text(f"Connecting to database {url} now")
    assert secret not in out and "supabase.co" in out, out


def test_the_tail_of_a_pgp_key_block_is_masked() -> None:
    block = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
        "lQOYBF9abcdefghijklmnopqrstuvwxyz0123\n=Zx9y\n-----END PGP PRIVATE KEY BLOCK-----"
    )
    out = Redactor(b"test").text(f"key:\n{block}\nloaded")
    assert "lQOYBF9" not in out and "Zx9y" not in out and "GnuPG" not in out
    cut = Redactor(b"test").text(block[:80])
    assert "lQOYBF9" not in cut


def test_a_learned_weak_password_does_not_break_shapes() -> None:
    """incidents: a staging password `postgres` learned first must not mask the substring
    inside `postgresql://` and so let the production password through."""
    redactor = Redactor(b"test")
    redactor.learn("postgresql://postgres:postgres@db.staging.example.com:5432/postgres")
    line = (
        f"Connecting to database postgresql://postgres.ref:{PASSWORD}@aws-0-us-east-1.pooler"
        ".supabase.com:6543/postgres via sqlalchemy.dialects.postgresql.asyncpg"
    )
    out = redactor.text(line)
    assert PASSWORD not in out
    assert "postgresql://postgres.ref:[secret " in out
    assert "sqlalchemy.dialects.postgresql.asyncpg" in out


def test_a_learned_strong_value_is_masked_only_as_a_token() -> None:
    redactor = Redactor(b"test")
    redactor.learn("Xk29vLq7Pz")
    assert "Xk29vLq7Pz" not in redactor.text("the key Xk29vLq7Pz was used")
    assert redactor.text("AXk29vLq7Pzz") == "AXk29vLq7Pzz"


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("AWS_SECRETS_MANAGER_REGION", "us-east-1", False),
        ("CACHE_KEY_PREFIX", "upload-worker", False),
        ("SESSION_BACKEND", "database", False),
        ("MAX_TOKENS", "4000", False),
        ("SECRET_KEY_BASE", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", True),
        ("DB_PASS", "x", True),
        ("BASIC_AUTH", "admin:pw", True),
        ("SENTRY_DSN", "https://k@o1.ingest.sentry.io/1", True),
        ("DOCUMENT_ENCRYPTION_KEY", "short", True),
    ],
)
def test_secrecy_is_decided_by_name_and_value(name: str, value: str, secret: bool) -> None:
    assert is_secret(name, value) is secret


def test_over_learning_does_not_garble_diagnoses() -> None:
    redactor = Redactor(b"test")
    for name, value in [
        ("AWS_SECRETS_MANAGER_REGION", "us-east-1"),
        ("CACHE_KEY_PREFIX", "upload-worker"),
        ("SESSION_BACKEND", "database"),
    ]:
        if is_secret(name, value):
            redactor.learn(value)
    text = "an IPv6-only database host; use aws-0-us-east-1.pooler.supabase.com (upload-worker)"
    assert redactor.text(text) == text


@pytest.mark.parametrize(
    "unit", ["api-key", "sk-", "eyJ", "://a:", "password=", "-----BEGIN PRIVATE KEY-----",
             "token ", "Bearer ", "a@", "mysql -p", "x" * 31 + " ", "AKIA", "secret_"],
)  # fmt: skip
def test_adversarial_input_costs_milliseconds(unit: str) -> None:
    text = unit * (32_768 // len(unit))
    started = time.perf_counter()
    Redactor(b"test").text(text)
    assert time.perf_counter() - started < 0.25, unit
