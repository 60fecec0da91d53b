"""Incidents and their timelines in the store, on SQLite or PostgreSQL alike.

Everything written passes the redaction layer here, on the way in, so no caller can store a
secret by forgetting to scrub it. Numbers are handed out under the store's write lock (on
PostgreSQL a transaction-scoped advisory lock), so two replicas opening at once get two
numbers; an opening seen twice (its job run again) finds the incident it made the first time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.incidents.model import Entry, Incident, Kind, Severity
from bot.redact import Redactor
from bot.results import Verdict
from bot.store.engine import Store
from bot.store.migrate import migrate
from bot.store.tables import incidents, timeline

NUMBER_LOCK = 0x66726D31  # "frm1": the advisory lock for handing out incident numbers
_REDACTED = ("title", "lead", "channel_note")
_INCIDENT_FIELDS = [f.name for f in fields(Incident)]


@dataclass(frozen=True)
class Numbering:
    """The catalog's `incidents:` prefix and first number: a team continues its own series."""

    prefix: str = "FM"
    start: int = 1


class Incidents:
    """The incidents a store holds. The schema is brought up to date on first use, so the
    console and `fracas run` work on a new store as `fracas serve` does."""

    def __init__(self, store: Store, redactor: Redactor) -> None:
        self.store, self.redactor = store, redactor
        self._ready = False
        self._readying = asyncio.Lock()

    async def ready(self) -> None:
        """Bring the schema up to date, once; writes call it."""
        if self._ready:
            return
        async with self._readying:
            if not self._ready:
                await migrate(self.store)
                self._ready = True

    # incidents

    async def open(
        self,
        *,
        key: str,
        numbering: Numbering,
        title: str,
        severity: Severity,
        opened_by: str,
        env: str | None = None,
        at: float | None = None,
    ) -> tuple[Incident, bool]:
        """A new incident with the next number, or the one `key` opened before (False)."""
        await self.ready()
        async with self.store.write() as conn:
            if self.store.postgres:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": NUMBER_LOCK})
            found = await self._one(conn, incidents.c.open_key == key[:200])
            if found is not None:
                return found, False
            highest = (await conn.execute(select(func.max(incidents.c.number)))).scalar()
            made = Incident(
                number=max(numbering.start, (highest or 0) + 1),
                prefix=numbering.prefix,
                title=self.redactor.text(title),
                severity=severity,
                status="investigating",
                opened_by=opened_by[:120],
                started_at=time.time() if at is None else at,
                env=env,
            )
            values = {**_row(made), "open_key": key[:200], "updated_at": time.time()}
            await conn.execute(incidents.insert().values(values))
        return made, True

    async def _readable(self) -> bool:
        """Reads on a SQLite file that does not exist yet find nothing, and do not make it:
        `fracas run status` in a new directory leaves no fracas.db behind."""
        if self.store.absent:
            return False
        await self.ready()
        return True

    async def get(self, number: int) -> Incident | None:
        if not await self._readable():
            return None
        async with self.store.read() as conn:
            return await self._one(conn, incidents.c.number == number)

    async def in_channel(self, channel: str) -> Incident | None:
        """The incident living in `channel`: the open one opened last, else the last one."""
        if not await self._readable():
            return None
        query = (
            select(incidents)
            .where(incidents.c.channel == channel)
            .order_by((incidents.c.status == "resolved").asc(), incidents.c.number.desc())
            .limit(1)
        )
        async with self.store.read() as conn:
            row = (await conn.execute(query)).first()
        return _incident(row) if row else None

    async def listing(self, since: float = 0.0) -> list[Incident]:
        """Open incidents, and those resolved after `since`; newest first."""
        if not await self._readable():
            return []
        query = (
            select(incidents)
            .where((incidents.c.status != "resolved") | (incidents.c.resolved_at >= since))
            .order_by(incidents.c.number.desc())
        )
        async with self.store.read() as conn:
            return [_incident(row) for row in await conn.execute(query)]

    async def change(
        self, incident: Incident, entry: Entry | None = None, **values: Any
    ) -> Incident:
        """Set fields of `incident` (and record `entry` with it, in the same transaction)."""
        await self.ready()
        for name in _REDACTED:
            if values.get(name):
                values[name] = self.redactor.text(values[name])
        changed = replace(incident, **values)
        if "status" in values:
            resolved = values["status"] == "resolved"
            at = incident.resolved_at or (entry.at if entry else time.time())
            changed = replace(changed, resolved_at=at if resolved else None)
        row = {k: v for k, v in _row(changed).items() if getattr(incident, k) != v}
        async with self.store.write() as conn:
            if row:
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.number == incident.number)
                    .values(**row, updated_at=time.time())
                )
            if entry is not None:
                await self._add(conn, incident, entry)
        return changed

    # the timeline

    async def add(self, incident: Incident, entry: Entry) -> bool:
        """Record `entry` once: False when its key is on the timeline already."""
        await self.ready()
        async with self.store.write() as conn:
            return await self._add(conn, incident, entry)

    async def remove(self, incident: Incident, key: str) -> bool:
        await self.ready()
        async with self.store.write() as conn:
            gone = await conn.execute(
                delete(timeline).where(
                    timeline.c.incident == incident.number, timeline.c.key == key[:200]
                )
            )
        return bool(gone.rowcount)

    async def link(self, incident: Incident, keys: Sequence[str], link: str) -> None:
        """Point entries recorded before their message was posted at that message."""
        await self.ready()
        async with self.store.write() as conn:
            await conn.execute(
                update(timeline)
                .where(
                    timeline.c.incident == incident.number,
                    timeline.c.key.in_([k[:200] for k in keys]),
                    timeline.c.link.is_(None),
                )
                .values(link=link)
            )

    async def timeline(self, incident: Incident) -> list[Entry]:
        """The incident's entries in the order they happened."""
        if not await self._readable():
            return []
        query = (
            select(timeline)
            .where(timeline.c.incident == incident.number)
            .order_by(timeline.c.at, timeline.c.id)
        )
        async with self.store.read() as conn:
            return [_entry(row) for row in await conn.execute(query)]

    async def _add(self, conn: AsyncConnection, incident: Incident, entry: Entry) -> bool:
        scrub = self.redactor.text
        values = {
            "incident": incident.number,
            "key": entry.key[:200],
            "kind": entry.kind.value,
            "at": entry.at,
            "recorded_at": time.time(),
            "author": scrub(entry.author)[:120],
            "text": scrub(entry.text),
            "verdict": entry.verdict.value if entry.verdict else None,
            "link": entry.link,
            "tag": entry.tag,
            "lines": json.dumps([scrub(line) for line in entry.lines]),
            "command": scrub(entry.command),
            "by_integration": entry.by_integration,
        }
        statement = (
            self.store.insert(timeline)
            .values(values)
            .on_conflict_do_nothing(index_elements=["incident", "key"])
        )
        added = await conn.execute(statement.returning(timeline.c.id))
        return added.first() is not None

    async def _one(self, conn: AsyncConnection, where: Any) -> Incident | None:
        row = (await conn.execute(select(incidents).where(where))).first()
        return _incident(row) if row else None


def _row(incident: Incident) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in _INCIDENT_FIELDS}


def _incident(row: Row[Any]) -> Incident:
    values = row._mapping
    return Incident(**{name: values[name] for name in _INCIDENT_FIELDS})


def _entry(row: Row[Any]) -> Entry:
    values = row._mapping
    return Entry(
        kind=Kind(values["kind"]),
        at=values["at"],
        text=values["text"],
        key=values["key"],
        author=values["author"],
        verdict=Verdict(values["verdict"]) if values["verdict"] else None,
        link=values["link"],
        tag=values["tag"],
        lines=tuple(json.loads(values["lines"] or "[]")),
        command=values["command"],
        by_integration=bool(values["by_integration"]),
    )
