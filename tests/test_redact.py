"""Redaction: no realistic secret survives, in a log line, a URL or JSON; ordinary text does."""

from __future__ import annotations

import json
import logging

import pytest

from bot.redact import RedactingFilter, Redactor, is_secret
from bot.results import Attachment, Report, StepResult, Table, Verdict

# Realistic formats (made-up values of the right length and alphabet), one per line.
CORPUS = {
    "openai project key": "sk-proj-4fJk2LmN8pQr3StUvWx9YzAbCdEfGh1JkLmN0pQrStUvWxYz12AbCdEf3456",
    "openai legacy key": "sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7cDe0fGh3iJk",
    "anthropic key": "sk-ant-api03-Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7Aa6Zx5Yw4Vu3Ts2Rq1Po0",
    "llamaparse key": "llx-9aB8cD7eF6gH5iJ4kL3mN2oP1qR0sT9uV8wX7yZ6aB5cD4eF3",
    "supabase anon jwt": (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWpr"
        "bG1ub3BxcnN0Iiwicm9sZSI6ImFub24ifQ.Xq3Lr9Tz2Kp8Wm4Nc6Vb1Hj5Gf7Ds0Ae3Qw9Er2Ty6U"
    ),
    "slack bot token": "xoxb-2468013579-1357924680123-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack user token": "xoxp-2468013579-1357924680-1122334455-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "slack app token": "xapp-1-A0123456789-1234567890123-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "slack webhook": "https://hooks.slack.com/services/T01234567/B0123456789/AbCdEfGhIjKlMnOpQrStUvWx",
    "render api key": "rnd_Xy7Zq2Wv9Ut4Sr1Pq8On5Ml3Kj6",
    "aws access key id": "AKIAIOSFODNN7EXAMPLE",
    "aws secret key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github classic token": "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
    "github fine-grained": "github_pat_11ABCDEFG0123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab",
    "gitlab token": "glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn",
    "google api key": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "stripe secret": "sk_live_51HxYz2AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe restricted": "rk_live_51HxYz2AbCdEfGhIjKlMnOpQrSt",
    "webhook signing secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "sendgrid key": "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",
    "supabase secret key": "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
    "hugging face token": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "npm token": "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "digitalocean token": "dop_v1_" + "0123456789abcdef" * 4,
    "aes-256 key, base64": "q3Zt7Yw2Vx9Ub4Ta1Sc8Rd5Qe6Pf3Og0Nh7Mi2Lj4K=",
    "aes-256 key, hex": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "random password": "Tr0ub4dor&3xK9!mZ",
    "django secret": "django-insecure-8s#k2@p!v^x0&z3$c5(m7)n9*q1_w4-e6=r8+t0",
    "sentry dsn key": "0123456789abcdef0123456789abcdef",
    "pem private key": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MqgGH\n"
        "-----END RSA PRIVATE KEY-----"
    ),
    "openssh private key": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "-----END OPENSSH PRIVATE KEY-----"
    ),
}

# How secrets show up: each template gets one secret, as logs and JSON really carry them.
CONTEXTS = {
    "sk-": ["OPENAI_API_KEY={s}", 'client = OpenAI(api_key="{s}")', '{{"openai_key": "{s}"}}'],
    "default": [
        "2026-11-23T04:00:00Z INFO config loaded token={s} ok",
        'ERROR request failed {{"headers": {{"Authorization": "Bearer {s}"}}}}',
        '{{"api_key": "{s}", "user": "svc"}}',
        "export SECRET_VALUE='{s}'",
    ],
}
NAMED_ONLY = {"random password", "django secret", "aws secret key"}  # no shape: only by name
IN_URLS = {"random password", "aes-256 key, base64"}


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name, secret in CORPUS.items():
        if name == "sentry dsn key":
            cases.append((name, secret, f"SENTRY_DSN=https://{secret}@o4505.ingest.sentry.io/42"))
            continue
        if "PRIVATE KEY" in secret:
            cases.append((name, secret, f"key file:\n{secret}\nloaded"))
            cases.append((name, secret, json.dumps({"private_key": secret})))
            continue
        contexts = CONTEXTS["sk-" if secret.startswith("sk-") else "default"]
        cases += [(name, secret, template.format(s=secret)) for template in contexts]
        if name not in NAMED_ONLY:
            cases.append((name, secret, f"got {secret} from the vault"))
        if name in IN_URLS:
            url = f"postgresql://postgres.abcdefghijklmnopqrst:{secret}@aws-0-us-east-1.pooler.supabase.com:6543/postgres"
            cases.append((name, secret, f"connecting to {url}"))
    return cases


@pytest.mark.parametrize(("name", "secret", "text"), _cases())
def test_no_secret_survives(name: str, secret: str, text: str) -> None:
    out = Redactor(b"test").text(text)
    assert secret not in out, f"{name} leaked: {out}"
    assert "[secret " in out


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize(
    "text",
    [
        "GET /health 200 in 12ms",
        "commit 3f2a9c1e0b8d7f6e5a4c3b2a1f0e9d8c7b6a5f4e deployed by render",
        'File "/usr/local/lib/python3.11/site-packages/asyncpg/connect_utils.py", line 1069',
        "instance srv-d0cjkelq67qs70c2pugg-sbpkm started",
        "request 4f9a2c1e-1111-2222-3333-444455556666 took 12.5ms",
        "Render answered 500 (Render-Request-Id api-7767dddd75-m2trm/tatrYy6WLK-001705).",
        "OSError: [Errno 101] Network is unreachable",
        "https://insurance-navigator-api.onrender.com/health",
        "max_tokens=4000",
    ],
)
def test_ordinary_text_stays_readable(text: str) -> None:
    assert Redactor(b"test").text(text) == text


def test_a_url_keeps_all_but_its_password() -> None:
    url = "postgresql://postgres.abcdefghijklmnopqrst:S3cr%40t!pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres"
    out = Redactor(b"test").text(url)
    assert out.startswith("postgresql://postgres.abcdefghijklmnopqrst:[secret ")
    assert out.endswith("]@aws-0-us-east-1.pooler.supabase.com:6543/postgres")


def test_learned_values_are_masked_wherever_they_appear() -> None:
    redactor = Redactor(b"test")
    redactor.learn(
        "postgresql://postgres:Plain4password@db.abcdefghijklmnopqrst.supabase.co/postgres"
    )
    redactor.learn("opaque-value-without-shape")
    out = redactor.text("password was Plain4password; flag opaque-value-without-shape set")
    assert "Plain4password" not in out and "opaque-value-without-shape" not in out


def test_fingerprints_are_keyed_stable_and_short() -> None:
    one, other = Redactor(b"install-1"), Redactor(b"install-2")
    assert one.fingerprint("hunter22") == one.fingerprint("hunter22")
    assert one.fingerprint("hunter22") != one.fingerprint("hunter23")
    assert one.fingerprint("hunter22") != other.fingerprint("hunter22")
    assert len(one.fingerprint("x" * 500)) == len("[secret 12345678]")


def test_secrets_are_told_by_name_or_by_shape() -> None:
    assert is_secret("DOCUMENT_ENCRYPTION_KEY", "short")
    assert is_secret("SUPABASE_SERVICE_ROLE_KEY", "anything")
    assert is_secret("DATABASE_URL", "postgresql://u:pw@h:5432/db")
    assert is_secret("SOME_SETTING", CORPUS["llamaparse key"])
    assert not is_secret("LOG_LEVEL", "info")
    assert not is_secret("SUPABASE_URL", "https://abcdefghijklmnopqrst.supabase.co")
    assert not is_secret("TOKENIZER_MODEL", "cl100k_base")
    assert not is_secret("PORT", "10000")


def test_whole_results_are_scrubbed_and_keep_their_shape() -> None:
    secret = CORPUS["openai project key"]
    step = StepResult(
        Verdict.FAIL,
        f"title {secret}",
        f"summary {secret}",
        facts=(("k", secret),),
        details=Table(("a",), ((secret,),)),
        hints=(secret,),
        attachments=(Attachment("f.txt", f"line {secret}\n"),),
        data={"nested": [{"v": secret}]},
    )
    clean = Redactor(b"test").result(Report("r", (step,), (secret,)))
    assert secret not in repr(clean)
    assert clean.steps[0].verdict is Verdict.FAIL and isinstance(clean.steps[0].details, Table)


def test_our_own_log_is_scrubbed_tracebacks_included(caplog: pytest.LogCaptureFixture) -> None:
    secret = CORPUS["render api key"]
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter(Redactor(b"test")))
    try:
        raise RuntimeError(f"boom with {secret}")
    except RuntimeError:
        logger.exception("failed calling %s", f"https://api.render.com?key={secret}")
    text = caplog.text
    assert "boom with [secret " in text and secret not in text
