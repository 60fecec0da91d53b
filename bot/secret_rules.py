"""What a secret looks like: provider token shapes, named assignments, URL passwords, key blocks.

Every pattern here runs on text a stranger can send, so each is linear: a match may start only
where its leading character class does not continue from the left (a lookbehind), so a run of
`sk-sk-sk-...` or `api-keyapi-key...` is scanned once, not once per position; and every
repetition is bounded. The shapes are the token formats of the public scanner suites (gitleaks,
trufflehog, noseyparker; tests/data/secrets/corpus.json): fixed prefixes and lengths, so a git
SHA, a UUID or a `srv-` id never matches one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Span = tuple[int, int]

# A variable or key whose last word is one of these holds a secret (`DB_PASS`, `PGPASSWORD`,
# `BASIC_AUTH`, `SENTRY_DSN`, `NEW_RELIC_LICENSE_KEY`): judged by the name's end, so
# `CACHE_KEY_PREFIX`, `SESSION_BACKEND` and `AWS_SECRETS_MANAGER_REGION` stay readable.
SECRET_ENDINGS = (
    "password", "passwd", "pass", "pwd", "passphrase", "secret", "token", "key", "apikey",
    "auth", "dsn", "credential", "credentials", "cookie", "salt", "privatekey", "secretkey",
    "accesskey", "pat",
)  # fmt: skip
# Words that mark a secret anywhere in a name, but only when the value is not a plain word.
SECRET_WORDS = {"KEY", "APIKEY", "SECRET", "SECRETS", "TOKEN", "PASSWORD", "PRIVATE", "CREDENTIAL",
                "PASSWD", "PWD", "AUTH", "SIGNING", "ENCRYPTION"}  # fmt: skip
_ENDING = re.compile(r"(?:" + "|".join(SECRET_ENDINGS) + r")$")


def secret_name(name: str) -> bool:
    """Whether a variable or key name says its value is a secret (`max_tokens` does not)."""
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    return bool(_ENDING.search(squashed)) and not squashed.endswith(("monkey", "turnkey"))


def _entropy(text: str) -> float:
    """Shannon entropy in bits a character."""
    return -sum(n / len(text) * math.log2(n / len(text)) for n in Counter(text).values())


def weak(value: str) -> bool:
    """Too weak to tell from ordinary text (`postgres`, `84736251`, `us-east-1`): masked only
    where it stands as a secret (a URL's password, `password=`), never as free text."""
    if len(value) < 8 or re.fullmatch(r"\d+", value):
        return True
    if len(value) < 16 and re.fullmatch(r"[a-z]+(?:[-_.][a-z0-9]+)*", value):
        return True
    return _entropy(value) < 2.5


def looks_random(token: str) -> bool:
    """Keys and passwords from a generator: mixed case and digits with high entropy, or
    long hex (64+: a 256-bit key; 40-char git SHAs stay readable)."""
    if re.fullmatch(r"[0-9a-fA-F]+", token):
        return len(token) >= 64
    if not (re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token)):
        return False
    return _entropy(token) >= 4.3


@dataclass(frozen=True)
class Rule:
    """One way a secret shows. `find` gives the secret's spans; `literals` are a cheap
    pre-check on the lower-cased text (one must occur for the rule to run at all)."""

    find: Callable[[str], Iterator[Span]]
    literals: tuple[str, ...]


def _regex(pattern: str, *literals: str, check: Callable[[re.Match[str]], bool] | None = None
           ) -> Rule:  # fmt: skip
    """A rule whose group `s` is the secret; `check` may still refuse a match."""
    compiled = re.compile(pattern)

    def find(text: str) -> Iterator[Span]:
        for match in compiled.finditer(text):
            start, end = match.span("s")
            fresh = end > start and not text.startswith("[secret", start)
            if fresh and (check is None or check(match)):
                yield start, end

    return Rule(find, tuple(lit.lower() for lit in literals))


_W = r"(?<![A-Za-z0-9_\-.+/])"  # a token starts here: nothing of a token's alphabet before it

# (prefix regex, body class, least and most body characters, literal for the pre-check)
_TOKENS: tuple[tuple[str, str, int, int], ...] = (
    (r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?", r"[\w-]", 20, 200),
    (r"[sr]k_(?:live|test)_", r"[A-Za-z0-9]", 16, 128),  # Stripe
    (r"(?:whsec|sb_secret|sb_publishable)_", r"[A-Za-z0-9+/=_-]", 16, 128),
    (r"llx-", r"[A-Za-z0-9]", 20, 100),  # LlamaCloud
    (r"xox[abposre]-", r"[A-Za-z0-9-]", 10, 200),  # Slack
    (r"xoxe\.xox[bp]-", r"[A-Za-z0-9-]", 10, 300),
    (r"xapp-", r"[A-Za-z0-9/-]", 10, 200),
    (r"rnd_", r"[A-Za-z0-9]", 16, 64),  # Render
    (r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])", r"[A-Z0-9]", 16, 16),  # AWS key ids
    (r"ABSK", r"[A-Za-z0-9+/=]", 100, 400),  # AWS Bedrock
    (r"gh[pousr]_", r"[A-Za-z0-9]", 30, 255),  # GitHub
    (r"github_pat_", r"\w", 22, 255),
    (r"gl(?:pat|ptt|dt|rt|cbt|ft|imt|agent|oas|soat)-", r"[\w-]", 20, 80),  # GitLab
    (r"GR1348941", r"[\w-]", 20, 40),
    (r"AIza", r"[\w-]", 35, 35),  # Google
    (r"GOCSPX-", r"[\w-]", 28, 28),
    (r"ya29\.", r"[\w.-]", 20, 2048),
    (r"SG\.", r"[\w.-]", 40, 80),  # SendGrid
    (r"npm_", r"[A-Za-z0-9]", 36, 36),
    (r"pypi-AgEIcHlwaS5vcmc", r"[\w-]", 50, 400),
    (r"hf_", r"[A-Za-z0-9]", 30, 40),  # Hugging Face
    (r"api_org_", r"[A-Za-z0-9]", 30, 40),
    (r"do[opr]_v1_", r"[a-f0-9]", 64, 64),  # DigitalOcean
    (r"shp(?:at|ss|ca|pa)_", r"[a-fA-F0-9]", 32, 32),  # Shopify
    (r"sq0(?:atp|csp)-", r"[\w-]", 22, 60),  # Square
    (r"access_token\$production\$", r"[a-z0-9$]", 30, 80),  # Braintree
    (r"sl\.", r"[\w-]", 130, 160),  # Dropbox
    (r"NRA[KL]-", r"[A-Z0-9]", 27, 27),  # New Relic
    (r"NRII-", r"[\w-]", 32, 32),
    (r"sntry[su]_", r"[\w=+/-]", 60, 300),  # Sentry
    (r"lin_api_", r"[A-Za-z0-9]", 40, 40),  # Linear
    (r"(?:secret|ntn)_", r"[A-Za-z0-9]", 43, 46),  # Notion
    (r"ATATT3", r"[\w=-]", 100, 300),  # Atlassian
    (r"PMAK-", r"[A-Za-z0-9-]", 59, 80),  # Postman
    (r"dp\.(?:pt|st|ct|sa|scim|audit)\.", r"[\w.-]", 40, 80),  # Doppler
    (r"hv[sb]\.", r"[\w-]", 24, 300),  # Vault
    (r"pul-", r"[a-f0-9]", 40, 40),  # Pulumi
    (r"gl(?:c|sa)_", r"[\w+/=]", 32, 200),  # Grafana
    (r"eyJrIjoi", r"[A-Za-z0-9+/=]", 50, 200),
    (r"dapi", r"[a-f0-9]", 32, 32),  # Databricks
    (r"r8_", r"[A-Za-z0-9]", 37, 37),  # Replicate
    (r"AGE-SECRET-KEY-1", r"[A-Z0-9]", 58, 58),
    (r"sbp_", r"[a-z0-9]", 40, 40),  # Supabase management
    (r"pscale_(?:tkn|pw|oauth)_", r"[\w.=-]", 32, 64),  # PlanetScale
    (r"LTAI", r"[A-Za-z0-9]", 16, 24),  # Alibaba
    (r"p8e-", r"[A-Za-z0-9-]", 32, 32),  # Adobe
    (r"FLWSECK(?:_TEST)?-", r"[\w-]", 32, 40),  # Flutterwave
    (r"fio-u-", r"[\w=-]", 64, 64),  # Frame.io
    (r"live_", r"[\w-]", 35, 45),  # GoCardless, Lob, Twitch
    (r"nfp_", r"[A-Za-z0-9]", 36, 36),  # Netlify
    (r"xkeysib-", r"[\w-]", 60, 100),  # Brevo
    (r"shippo_(?:live|test)_", r"[a-f0-9]", 40, 40),
    (r"tfp_", r"[\w.-]", 40, 70),  # Typeform
    (r"AKCp", r"[A-Za-z0-9]", 69, 69),  # Artifactory
    (r"ATBB", r"[A-Za-z0-9]", 32, 32),  # Bitbucket
    (r"dckr_pat_", r"[\w-]", 27, 27),  # Docker Hub
    (r"dt0c01\.", r"[A-Z0-9.]", 80, 100),  # Dynatrace
    (r"EAA[A-Za-z0-9]", r"[A-Za-z0-9]", 100, 400),  # Facebook
    (r"gsk_", r"[A-Za-z0-9]", 52, 52),  # Groq
    (r"sk\.eyJ", r"[\w.-]", 60, 300),  # Mapbox
    (r"oy2", r"[a-z0-9]", 43, 43),  # NuGet
    (r"rubygems_", r"[a-f0-9]", 48, 48),
    (r"sgp_", r"[\w]", 40, 80),  # Sourcegraph, Segment
    (r"tvly-", r"[A-Za-z0-9-]", 32, 64),  # Tavily
    (r"django-insecure-", r"[^\s\"'`]", 30, 80),
    (r"cio", r"[A-Za-z0-9]", 32, 32),  # crates.io
    (r"odt_", r"[A-Za-z0-9]", 32, 40),  # Dependency-Track
    (r"jina_", r"[A-Za-z0-9]", 60, 60),
    (r"fc-", r"[a-f0-9]", 32, 32),  # Firecrawl
    (r"aio_", r"[A-Za-z0-9]", 28, 28),  # Adafruit
    (r"hawk\.", r"[\w.-]", 38, 38),  # StackHawk
    (r"ops_eyJ", r"[A-Za-z0-9+/=_-]", 200, 2000),  # 1Password
    (r"fo1_", r"[\w-]", 43, 43),  # Fly.io
    (r"pplx-", r"[A-Za-z0-9]", 48, 48),  # Perplexity
    (r"sha256~", r"[\w-]", 43, 43),  # OpenShift
    (r"tk-us-", r"[\w-]", 48, 48),  # Scalingo
    (r"ico-", r"[A-Za-z0-9]", 32, 32),  # Infracost
    (r"API-", r"[A-Z0-9]", 26, 26),  # Octopus Deploy
    (r"CLOJARS_", r"[a-z0-9]", 60, 60),
    (r"EZAK", r"[a-z0-9]", 54, 54),  # EasyPost
    (r"SK", r"[0-9a-f]", 32, 32),  # Twilio API key
    (r"AC", r"[0-9a-f]", 32, 32),  # Twilio account
    (r"key-", r"[0-9a-z]", 32, 32),  # Mailgun
    (r"HRKU-AA", r"[\w-]", 58, 58),  # Heroku
    (r"v1\.0-", r"[a-f0-9-]", 140, 180),  # Cloudflare origin CA
    (r"00D[A-Za-z0-9]{12}!", r"[\w.]", 80, 120),  # Salesforce
    (r"[0-9a-f]{32}-us", r"\d", 1, 2),  # Mailchimp
    (r"[MNO][\w-]{23,25}\.[\w-]{6}\.", r"[\w-]", 27, 38),  # Discord bot
    (r"LS0tLS1CRUdJTi", r"[A-Za-z0-9+/=]", 20, 8000),  # a base64-encoded PEM block
    (r"eyJ[\w-]{5,2048}\.eyJ|eyJ", r"[\w.-]", 20, 4096),  # JWTs (checked below)
)


def _jwt_or_token(match: re.Match[str]) -> bool:
    """`eyJ...` is a JWT only with its two dots; the other prefixes are fixed. A body of x's
    is a placeholder (`AKIAXXXXXXXXXXXXXXXX`)."""
    secret = match.group("s")
    if re.search(r"[xX]{12,}$", secret):
        return False
    return not secret.startswith("eyJ") or secret.startswith("eyJrIjoi") or secret.count(".") >= 2


def _tokens() -> Rule:
    alternatives = "|".join(
        f"(?:{prefix}){body}{{{low},{high}}}" for prefix, body, low, high in _TOKENS
    )
    pattern = _W + f"(?P<s>{alternatives})" + r"(?![A-Za-z0-9_])"
    return _regex(pattern, "", check=_jwt_or_token)


_NAMED = _regex(  # KEY=value, "key": "value", key: value (names judged by secret_name)
    r"(?<![\w.$-])(?P<n>[A-Za-z_][\w.-]{0,63})[\"']?[ \t]{0,3}(?:=|:(?!//))[ \t]{0,3}[\"']?"
    r"(?P<s>[^\s\"',;&}<>=]{4,512}={0,2})",
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "dsn",
    "credential",
    "cookie",
    "salt",
    "_pat",
    check=lambda m: secret_assignment(m.group("n"), m.group("s")),
)
_FLAGS = _regex(  # psql --password VALUE, --token=VALUE
    r"--(?:password|passwd|token|api-key|secret)(?:=|[ \t]{1,3})(?P<s>[^\s\"'-][^\s\"']{0,255})",
    "--pass",
    "--token",
    "--api-key",
    "--secret",
)
_MYSQL = _regex(  # mysql -uroot -pVALUE (no space: -p with a space prompts)
    r"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]{0,200}?[ \t]-p(?P<s>[^\s\"']{1,256})",
    "mysql",
    "mariadb",
)
_CURL = _regex(  # curl -u user:password
    r"\bcurl\b[^\n]{0,200}?[ \t](?:-u|--user)[ \t]{1,3}[^\s:\"'<$]{1,64}:(?P<s>[^\s\"'<>$]{1,256})",
    "curl",
)
_NETRC = _regex(
    r"\bmachine[ \t]{1,3}\S{1,253}[ \t]{1,3}login[ \t]{1,3}\S{1,128}[ \t]{1,3}password[ \t]{1,3}"
    r"(?P<s>\S{1,256})",
    "machine",
)
_AUTH = _regex(
    r"(?i)\b(?:basic|bearer)[ \t]{1,3}(?P<s>[A-Za-z0-9+/=._~-]{8,4096})", "basic", "bearer"
)
_TOKEN_WORD = _regex(
    r"(?i)\btoken[ \t]{1,3}(?P<s>(?=[^\s\"',;]{0,512}\d)[^\s\"',;]{8,512})", "token"
)
_SLACK_HOOK = _regex(r"hooks\.slack\.com/services/(?P<s>[A-Za-z0-9/]{20,200})", "hooks.slack")
_HOOKS = _regex(
    r"(?:discord(?:app)?\.com/api/webhooks|office\.com/webhook(?:b2)?)/(?P<s>[\w/@.-]{20,400})",
    "webhook",
)
_TELEGRAM = _regex(_W + r"(?P<s>\d{8,10}:AA[\w-]{30,40})(?![\w-])", ":aa")
_SENTRY = _regex(r"://(?P<s>[0-9a-f]{32})(?=@)", "://")


def _random(match: re.Match[str]) -> bool:
    """A long random token, unless it is a digest (`@sha256:...`)."""
    before = match.string[max(0, match.start() - 7) : match.start()].lower()
    return before not in ("sha256:", "sha256=") and looks_random(match.group("s"))


_RANDOM = _regex(_W + r"(?P<s>[A-Za-z0-9+/_-]{32,4096}={0,2})", "", check=_random)

_HOST = re.compile(r"[\w.-]{1,253}|\[[0-9a-fA-F:.]{2,45}\]")
_URL_USER = re.compile(r"://(?P<u>[^\s:/@\"'<>]{0,128}):")


def _url_passwords(text: str) -> Iterator[Span]:
    """`scheme://user:password@host`, where the password may hold `@`, `/` or a space: it runs
    to the last `@` of its word that a host follows, else to the first such `@` on the line.
    Each `://` looks at most 512 characters ahead, so the scan stays linear."""
    for match in _URL_USER.finditer(text):
        start = match.end()
        window = text[start : start + 512].split("\n", 1)[0]
        nxt = window.find("://")
        window = window if nxt < 0 else window[:nxt]
        word = re.split(r"[\s\"'<>]", window, maxsplit=1)[0]
        at = _last_host_at(word)
        if at is None and len(word) < len(window) and not re.fullmatch(r"\d{1,5}/?.*", word):
            at = _first_host_at(window)
        if at and not _PLACEHOLDER.fullmatch(window[:at]):
            yield start, start + at


def _hosted(text: str, at: int) -> bool:
    host = _HOST.match(text, at + 1)
    return host is not None and (host.end() == len(text) or text[host.end()] in ":/?#\"' \t)")


def _last_host_at(word: str) -> int | None:
    at = word.rfind("@")
    while at > 0:
        if _hosted(word, at):
            return at
        at = word.rfind("@", 0, at)
    return None


_PLACEHOLDER = re.compile(r"\[[^\]]*\]|<[^>]*>|\$\{?\w+\}?|\*+|\{\{[^}]*\}\}")


def _first_host_at(window: str) -> int | None:
    """A password with spaces: to the first `@` a host follows, with no `/`, `"` or `<` on
    the way (those are paths and markup, not passwords) and no blank just before it."""
    at = window.find("@")
    while at > 0:
        stretch = window[:at]
        plain = not re.search(r"[/\"<>]|\s$", stretch) and stretch.count(" ") <= 4
        if plain and _hosted(window, at):
            return at
        at = window.find("@", at + 1)
    return None


URL_PASSWORD = Rule(_url_passwords, ("://",))

_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")


def _key_blocks(text: str) -> Iterator[Span]:
    """A private key block from its BEGIN line to its END line, or, cut short, to the end of
    the text: a truncated key is still a key. One forward scan, however many BEGINs."""
    pos = 0
    while (begin := _BEGIN.search(text, pos)) is not None:
        end = _END.search(text, begin.end())
        stop = end.end() if end is not None else len(text)
        yield begin.start(), stop
        pos = stop


PEM = Rule(_key_blocks, ("private key",))

# Whole-line shapes (key blocks) run first, on the whole text; then these, in this order.
RULES: tuple[Rule, ...] = (
    URL_PASSWORD, _SENTRY, _AUTH, _TOKEN_WORD, _FLAGS, _MYSQL, _CURL, _NETRC, _NAMED,
    _SLACK_HOOK, _HOOKS, _TELEGRAM, _tokens(), _RANDOM,
)  # fmt: skip


_REFERENCE = re.compile(r"\$|%\(|<|\{\{|\[|var\.|env\.|process\.env|[a-z][\w+.-]*://", re.I)


_USERINFO = re.compile(r"[a-z][\w+.-]{0,20}://[^/\s@]{1,256}@", re.I)


def secret_assignment(name: str, value: str) -> bool:
    """`name=value` in free text: the pair must say secret, the value must not be a reference
    (`$API_KEY`, `var.db_password`, a URL), and a `*key` name needs a value that is not weak
    (`sequenceKey = "18"`, `o.haKey=!1` are code, not keys)."""
    credentials = _USERINFO.match(value) is not None  # a DSN's key, a URL's user:password
    if (_REFERENCE.match(value) and not credentials) or not secret_pair(name, value):
        return False
    return not (name.lower().endswith("key") and weak(value))


def secret_pair(name: str, value: str) -> bool:
    """Whether `name=value` holds a secret, judged together: a name ending in a secret word
    (`*_KEY`, `DB_PASS`, `SENTRY_DSN`), or a secret word elsewhere in the name with a value that
    is not a plain word (`SECRET_KEY_BASE=9f8e...`, not `AWS_SECRETS_MANAGER_REGION=us-east-1`).
    Placeholders (`true`, `null`, `***`) are no secret."""
    if re.fullmatch(r"true|false|null|none|\*+", value.lower()):
        return False
    if secret_name(name):
        return True
    words = set(re.split(r"[^A-Z0-9]+", name.upper()))
    reference = _REFERENCE.match(value) is not None
    return bool(words & SECRET_WORDS) and bool(value) and not weak(value) and not reference
