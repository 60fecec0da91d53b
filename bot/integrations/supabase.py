"""What a Supabase connection string says about itself (reference/postgres-failures.md §1).

Direct host `db.<ref>.supabase.co` (IPv6 only), Supavisor pooler `aws-N-<region>.pooler.
supabase.com` on 5432 (session) or 6543 (transaction) with user `postgres.<ref>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SCHEMES = ("postgres", "postgresql")
_DIRECT = re.compile(r"db\.([a-z0-9]+)\.supabase\.co")
_POOLER = re.compile(r"[a-z0-9-]+\.pooler\.supabase\.com")
_POOLER_USER = re.compile(r"[a-z_]+\.([a-z0-9]+)")
_PROJECT = re.compile(r"([a-z0-9]+)\.supabase\.co")


@dataclass(frozen=True)
class DbUrl:
    """The parts of a database URL that can be shown; the password only as present or not."""

    scheme: str
    user: str
    host: str
    port: int | None
    database: str
    has_password: bool

    @property
    def postgres(self) -> bool:
        """A PostgreSQL URL, SQLAlchemy's driver forms (`postgresql+asyncpg`) included; an
        https URL is not one, though it may hold a key in its user part (SENTRY_DSN)."""
        return self.scheme.split("+", 1)[0] in SCHEMES

    @property
    def direct(self) -> bool:
        """Supabase's direct host, which only has an IPv6 address."""
        return _DIRECT.fullmatch(self.host) is not None

    @property
    def pooler(self) -> bool:
        return _POOLER.fullmatch(self.host) is not None

    @property
    def transaction_mode(self) -> bool:
        """Port 6543 pools per transaction: prepared statements must be off."""
        return (self.pooler or self.direct) and self.port == 6543

    @property
    def project(self) -> str | None:
        """The Supabase project ref this URL reaches, if it is a Supabase URL."""
        direct = _DIRECT.fullmatch(self.host)
        if direct:
            return direct.group(1)
        user = _POOLER_USER.fullmatch(self.user)
        return user.group(1) if self.pooler and user else None

    def parts(self) -> dict[str, str]:
        """What to compare one by one (the password is compared by the caller, by fingerprint)."""
        return {
            "scheme": self.scheme,
            "user": self.user,
            "host": self.host,
            "port": str(self.port or ""),
            "database": self.database,
        }


def parse_db_url(value: str) -> DbUrl | None:
    """None unless the value is a URL with a host."""
    if "://" not in value:
        return None
    try:
        url = urlsplit(value.strip())
        port = url.port
    except ValueError:
        return None
    if not url.hostname:
        return None
    return DbUrl(
        scheme=url.scheme,
        user=unquote(url.username or ""),
        host=url.hostname,
        port=port,
        database=url.path.lstrip("/"),
        has_password=bool(url.password),
    )


def project_of_api(url: str) -> str | None:
    """`https://<ref>.supabase.co` -> ref."""
    host = urlsplit(url.strip()).hostname or ""
    found = _PROJECT.fullmatch(host)
    return found.group(1) if found else None
