"""The incidents' store contract, on SQLite and PostgreSQL: numbers from the catalog's series,
unique however many open at once; an opening or an entry seen twice is one; nothing secret is
stored in clear."""

from __future__ import annotations

import asyncio

import pytest

from bot.incidents.model import Entry, Kind
from bot.incidents.repository import Incidents, Numbering
from bot.redact import Redactor
from bot.results import Verdict
from bot.store.engine import Store, open_store

from storefixtures import everything_stored

SERIES = Numbering("FM", 31)
SECRET = "sk-proj-8f3kQ9zX2mB7vL1pR4tY6wE0aS5dF8gH"


def opening(key: str, title: str = "Production worker down") -> dict:
    return {"key": key, "numbering": SERIES, "title": title, "severity": "P0", "opened_by": "U1"}


async def test_numbers_continue_the_team_series_and_an_opening_seen_twice_is_one(
    store: Store,
) -> None:
    incidents = Incidents(store, Redactor())
    first, new = await incidents.open(**opening("slack:trigger:a"))
    again, new_again = await incidents.open(**opening("slack:trigger:a"))
    second, _ = await incidents.open(**opening("slack:trigger:b", "API slow"))
    assert (first.id, new, again.id, new_again, second.id) == (
        "FM-31",
        True,
        "FM-31",
        False,
        "FM-32",
    )
    assert [i.id for i in await incidents.listing()] == ["FM-32", "FM-31"]


async def test_a_later_start_in_the_catalog_moves_the_series_on_never_back(store: Store) -> None:
    incidents = Incidents(store, Redactor())
    await incidents.open(**opening("a"))
    later, _ = await incidents.open(**{**opening("b"), "numbering": Numbering("FM", 100)})
    back, _ = await incidents.open(**{**opening("c"), "numbering": Numbering("FM", 5)})
    assert (later.number, back.number) == (100, 101)


async def test_twenty_openings_at_once_from_four_processes_get_twenty_numbers(
    store_url: str, store: Store
) -> None:
    """Four engines stand for four replicas: each its own connections and transactions."""
    engines = [open_store(store_url) for _ in range(4)]
    try:
        books = [Incidents(s, Redactor()) for s in engines]
        opened = await asyncio.gather(
            *(books[n % 4].open(**opening(f"key-{n}")) for n in range(20))
        )
    finally:
        await asyncio.gather(*(s.close() for s in engines))
    numbers = sorted(incident.number for incident, _ in opened)
    assert numbers == list(range(31, 51))


async def test_an_entry_recorded_twice_is_one_and_removing_it_takes_it_off(store: Store) -> None:
    incidents = Incidents(store, Redactor())
    incident, _ = await incidents.open(**opening("a"))
    pin = Entry(Kind.PIN, 1_700_000_000.5, "CONFIGURATION_ERROR_FATAL", "pin:C1:1.5", "Render")
    assert await incidents.add(incident, pin) is True
    assert await incidents.add(incident, pin) is False
    assert [e.text for e in await incidents.timeline(incident)] == ["CONFIGURATION_ERROR_FATAL"]
    assert await incidents.remove(incident, "pin:C1:1.5") is True
    assert await incidents.remove(incident, "pin:C1:1.5") is False
    assert await incidents.timeline(incident) == []


async def test_the_timeline_is_in_the_order_things_happened(store: Store) -> None:
    """A message pinned now but posted an hour ago goes before what happened since."""
    incidents = Incidents(store, Redactor())
    incident, _ = await incidents.open(**opening("a"), at=2000.0)
    await incidents.add(incident, Entry(Kind.NOTE, 2100.0, "later", "n"))
    await incidents.add(incident, Entry(Kind.PIN, 1000.0, "earlier", "p", by_integration=True))
    entries = await incidents.timeline(incident)
    assert [(e.kind, e.text, e.by_integration) for e in entries] == [
        (Kind.PIN, "earlier", True),
        (Kind.NOTE, "later", False),
    ]


async def test_a_change_and_its_entry_land_together_and_resolving_stamps_the_time(
    store: Store,
) -> None:
    incidents = Incidents(store, Redactor())
    incident, _ = await incidents.open(**opening("a"))
    entry = Entry(Kind.STATUS, 5000.0, "investigating → resolved", "s", verdict=Verdict.OK)
    resolved = await incidents.change(incident, entry, status="resolved")
    stored = await incidents.get(incident.number)
    assert stored == resolved and stored is not None
    assert (stored.status, stored.resolved_at, stored.open) == ("resolved", 5000.0, False)
    reopened = await incidents.change(stored, status="investigating")
    assert reopened.resolved_at is None and reopened.open
    assert [e.verdict for e in await incidents.timeline(incident)] == [Verdict.OK]


async def test_the_incident_in_a_channel_is_its_open_one_else_its_last(store: Store) -> None:
    incidents = Incidents(store, Redactor())
    one, _ = await incidents.open(**opening("a"))
    two, _ = await incidents.open(**opening("b"))
    await incidents.change(one, channel="C1")
    two = await incidents.change(two, channel="C1")
    assert (await incidents.in_channel("C1")).id == "FM-32"  # type: ignore[union-attr]
    await incidents.change(two, status="resolved")
    assert (await incidents.in_channel("C1")).id == "FM-31"  # type: ignore[union-attr]
    assert await incidents.in_channel("C2") is None


async def test_nothing_secret_is_stored_in_clear_whatever_field_it_came_in(store: Store) -> None:
    redactor = Redactor()
    redactor.learn("hunter2-db-password-0042")
    incidents = Incidents(store, redactor)
    incident, _ = await incidents.open(**opening("a", f"leaked {SECRET} in the logs"))
    await incidents.change(
        incident, lead="<@U1>", channel_note="postgres://u:hunter2-db-password-0042@h/db"
    )
    await incidents.add(
        incident,
        Entry(
            Kind.FINDING,
            1.0,
            f"OPENAI_API_KEY={SECRET}",
            "f",
            author="hunter2-db-password-0042",
            lines=(f"key: {SECRET}",),
            command=f"logs worker --grep {SECRET}",
        ),
    )
    stored = await everything_stored(store)
    assert SECRET not in stored and "hunter2-db-password-0042" not in stored
    assert "leaked" in stored and "OPENAI_API_KEY" in stored


async def test_reading_a_store_that_does_not_exist_makes_no_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path}/none.db")
    try:
        incidents = Incidents(store, Redactor())
        assert await incidents.listing() == [] and await incidents.in_channel("C1") is None
        assert await incidents.get(31) is None
    finally:
        await store.close()
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("ref", ["FM-31", "fm-31", "#fm-31", "FM31"])
def test_an_incident_id_is_read_however_it_is_typed(ref: str) -> None:
    from bot.incidents.model import parse_ref

    assert parse_ref(ref) == ("FM", 31)
    assert parse_ref("31") is None and parse_ref("FM-") is None and parse_ref("F-M-1") is None
