"""What is wrong with a database URL before any connection is tried.

asyncpg splits the URL with urllib and then at the first `@` (reference §2): an unencoded `#`
starts a fragment and drops the host, an unencoded `@` moves part of the password into the
host. Both end in errors that name neither cause, so they are found here, by character, without
ever showing the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bot.errors import FracasError
from bot.integrations.supabase import SCHEMES, DbUrl, parse_db_url

REQUIRE_TLS = ("require", "verify-ca", "verify-full")
_DRIVER = re.compile(r"^(postgres(?:ql)?)\+\w+://")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ENCODING = {"@": "%40", "#": "%23", "/": "%2F", "?": "%3F", " ": "%20"}
_FIX = "URL-encode the password (urllib.parse.quote(password, safe='')) in DATABASE_URL"


class DsnError(FracasError):
    """The URL cannot be what the app means; message names the fault, hint the fix."""


@dataclass(frozen=True)
class Dsn:
    """A URL asyncpg can use, its parts fit to show, and what was noticed on the way."""

    dsn: str
    url: DbUrl
    sslmode: str | None
    notes: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """user@host:port/db, with the password only as present or absent."""
        u = self.url
        port = f":{u.port}" if u.port else ""
        secret = " (password set)" if u.has_password else " (no password)"
        return f"{u.scheme}://{u.user}@{u.host}{port}/{u.database}{secret}"

    @property
    def port(self) -> int:
        return self.url.port or 5432

    @property
    def tls_required(self) -> bool:
        return self.sslmode in REQUIRE_TLS


def holds_secret(raw: str) -> bool:
    """A URL with neither a password nor options (trust auth) holds nothing to hide, and
    masking it whole would hide the host the user needs to see."""
    url = parse_db_url(raw)
    return url is None or url.has_password or "?" in raw


def check_dsn(raw: str) -> Dsn:
    """The URL, checked; raises DsnError naming exactly what breaks it."""
    text = raw.strip()
    if not text:
        raise DsnError("DATABASE_URL is empty.", "Set it to the database's connection URL.")
    notes: list[str] = []
    driver = _DRIVER.match(text)
    if driver:
        text = f"{driver.group(1)}://" + text[driver.end() :]
        notes.append(f"'{raw.split('://', 1)[0]}' is SQLAlchemy's form; asyncpg reads it as plain")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in SCHEMES:
        said = f"its scheme is '{scheme}'" if sep and _SCHEME.fullmatch(scheme) else "it is not"
        raise DsnError(  # never echo more: a value that is not a URL may be the password
            f"DATABASE_URL does not start with postgresql:// ({said} a postgresql URL).",
            "Copy the URL again from the database's connection panel.",
        )
    _check_userinfo(rest)
    try:
        split = urlsplit(text)
        split.port  # noqa: B018 - urllib checks the port only when asked
    except ValueError:
        raise DsnError(
            "DATABASE_URL's port is not a number from 1 to 65535, or its bracketed IPv6 "
            "host is not an address.",
            "Write host:port, like host:5432, or [2001:db8::1]:5432.",
        ) from None
    _check_host(split.hostname or "")
    url = parse_db_url(text)
    if url is None or not split.hostname:
        raise DsnError(
            "DATABASE_URL has no host: asyncpg falls back to a local socket.",
            "Write postgresql://user:password@host:port/database.",
        )
    if not url.database:
        notes.append(f"no database name: asyncpg uses the user name '{url.user}'")
    if not url.has_password:
        notes.append("no password in the URL: asyncpg tries PGPASSWORD and ~/.pgpass")
    try:
        query = parse_qs(split.query, strict_parsing=True) if split.query else {}
    except ValueError:
        raise DsnError(
            "DATABASE_URL's query string (after '?') is malformed.",
            "Write options as ?sslmode=require&other=value.",
        ) from None
    sslmode = query.get("sslmode", query.get("ssl", [None]))[-1]
    return Dsn(text, url, sslmode, tuple(notes))


_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,15}")


def _check_host(host: str) -> None:
    """DNS limits: a label over 63 characters or a name over 253 cannot resolve (and the
    resolver raises a codec error instead of saying so)."""
    if len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
        raise DsnError(
            "DATABASE_URL's host name is longer than DNS allows (63 characters a label).",
            "Copy the host again from the database's connection panel.",
        )


def _check_userinfo(rest: str) -> None:
    """Characters in user:password that move the URL's boundaries."""
    if "@" not in rest:
        return
    userinfo = rest[: rest.rindex("@")]
    found = [char for char in _ENCODING if char in userinfo]
    if found:
        where = "password" if ":" in userinfo.split(found[0])[0] else "user name"
        chars = " and ".join(f"'{c}'" for c in found)
        codes = ", ".join(f"{c} as {_ENCODING[c]}" for c in found)
        raise DsnError(
            f"the {where} in DATABASE_URL has an unencoded {chars}: asyncpg splits the URL "
            "there and connects somewhere else.",
            f"Write {codes}: {_FIX}.",
        )
    if _BAD_ESCAPE.search(userinfo):
        raise DsnError(
            "the password in DATABASE_URL has a '%' that is not an escape: asyncpg decodes "
            "it into something else.",
            f"Write it as %25: {_FIX}.",
        )
