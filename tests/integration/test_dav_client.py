"""The CalDAV client layer against Radicale and Xandikos: conditional writes and listing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from protocol.errors import AuthFailed, Conflict, ProtocolViolation
from protocol.settings import DavSettings, PoolSettings
from tests.servers.dav import DavAccount, DavServer
from workers.dav import carddav, expand, freebusy
from workers.dav import client as dav

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
BERLIN = ZoneInfo("Europe/Berlin")


def settings_for(server: DavServer, login: DavAccount) -> DavSettings:
    return DavSettings(
        url=login.url,
        username=login.username,
        password=login.password,
        ca_file=str(server.certificates.ca_file),
        pool=PoolSettings(read_timeout=20),
    )


def test_a_refused_login_is_told_as_one_even_when_the_url_holds_403(dav_server: DavServer) -> None:
    # The library's message quotes the URL: a port such as 52403 once made a refused
    # login read as "does not allow that" (a 403), with no word about the password.
    login = dav_server.add_user()
    wrong = DavAccount(login.username, "Wrong-Password-403", f"{login.url}403/")
    settings = settings_for(dav_server, wrong)
    client = dav.open_client(settings)
    with pytest.raises(AuthFailed, match="refused the login"), dav.dav_errors(settings):
        dav.list_calendars(client, wrong.url)


def test_a_server_failure_says_to_retry_a_read_and_to_look_before_repeating_a_write(
    dav_servers: dict[str, DavServer],
) -> None:
    # Xandikos answers HTTP 500 for a path of another user's (its access check raises):
    # a real server failure. After a failed write the object may or may not have been
    # kept (Xandikos also answers 500 when two writes to one object collide).
    xandikos = dav_servers["xandikos"]
    me, other = xandikos.add_user(), xandikos.add_user()
    event = f"{xandikos.calendar_path(other)}call.ics"
    card = f"{xandikos.address_book_path(other)}card.vcf"
    settings = settings_for(xandikos, me)
    client = dav.open_client(settings)
    read = "failed while {} (HTTP 500); try again in a moment."
    written = "failed while {} (HTTP 500); look it up again, and repeat the change if it did"
    with dav.dav_errors(settings):
        for failing, sentence in (
            (lambda: dav.fetch(client, event), read.format("reading the event")),
            (lambda: dav.store(client, event, "x", None), written.format("saving the event")),
            (lambda: dav.remove(client, event, None), written.format("deleting the event")),
            (lambda: carddav.fetch(client, card), read.format("reading the contact")),
            (lambda: carddav.store(client, card, "x", None), written.format("saving contacts")),
            (lambda: carddav.remove(client, card, None), written.format("deleting contacts")),
        ):
            with pytest.raises(ProtocolViolation) as failed:
                failing()
            assert sentence in failed.value.message, failed.value.message


def test_a_write_based_on_an_old_etag_is_a_conflict_not_an_overwrite(dav_server: DavServer) -> None:
    login = dav_server.add_user()
    dav_server.put_object(login, "call.ics", (ICS / "new-york-call.ics").read_text())
    settings = settings_for(dav_server, login)
    client = dav.open_client(settings)
    with dav.dav_errors(settings):
        href = f"{dav_server.calendar_path(login)}call.ics"
        mine = dav.fetch(client, href)
        # Someone else edits the event after we read it.
        dav_server.put_object(
            login, "call.ics", mine.data.replace("Call with New York", "Moved by Ben")
        )
        with pytest.raises(Conflict, match="changed elsewhere"):
            dav.store(client, href, mine.data.replace("Call with New York", "Mine"), mine.etag)
        assert "Moved by Ben" in dav.fetch(client, href).data


def test_an_object_named_with_a_percent_sign_is_read_and_written_as_itself(
    dav_server: DavServer,
) -> None:
    login = dav_server.add_user()
    text = (ICS / "floating.ics").read_text()
    other_text = text.replace("SUMMARY:", "SUMMARY:Other ").replace("UID:", "UID:other-")
    dav_server.put_object(login, "pA.ics", other_text)
    dav_server.put_object(login, "p%2541.ics", text)  # stored as p%41.ics
    settings = settings_for(dav_server, login)
    client = dav.open_client(settings)
    with dav.dav_errors(settings):
        href = f"{dav_server.calendar_path(login)}p%41.ics"
        mine = dav.fetch(client, href)
        assert "SUMMARY:Other" not in mine.data
        dav.store(client, href, mine.data.replace("SUMMARY:", "SUMMARY:Mine "), mine.etag)
        assert "SUMMARY:Mine" in dav.fetch(client, href).data
        other = dav.fetch(client, f"{dav_server.calendar_path(login)}pA.ics")
        assert "SUMMARY:Other" in other.data and "SUMMARY:Mine" not in other.data


def test_a_new_object_never_replaces_an_existing_one(dav_server: DavServer) -> None:
    login = dav_server.add_user()
    text = (ICS / "floating.ics").read_text()
    dav_server.put_object(login, "lunch.ics", text)
    settings = settings_for(dav_server, login)
    client = dav.open_client(settings)
    with dav.dav_errors(settings), pytest.raises(Conflict):
        dav.store(client, f"{dav_server.calendar_path(login)}lunch.ics", text, None)


def test_calendars_are_listed_with_a_version_that_changes_with_content(
    dav_server: DavServer,
) -> None:
    login = dav_server.add_user()
    settings = settings_for(dav_server, login)
    client = dav.open_client(settings)
    with dav.dav_errors(settings):
        home = dav.discover_home(client)
        (before,) = dav.list_calendars(client, home)
        dav_server.put_object(login, "lunch.ics", (ICS / "floating.ics").read_text())
        (after,) = dav.list_calendars(client, home)
        answer = dav.query(
            client,
            after.url,
            datetime(2026, 3, 11, tzinfo=BERLIN),
            datetime(2026, 3, 12, tzinfo=BERLIN),
        )
    assert before.version and after.version != before.version
    assert [o.href.rsplit("/", 1)[-1] for o in answer.objects] == ["lunch.ics"]
    assert answer.objects[0].etag and not answer.unfiltered


def test_a_calendar_without_a_ctag_is_versioned_by_its_sync_token(dav_server: DavServer) -> None:
    """The fallback for servers that offer no CS:getctag: a sync-token, asked separately."""
    login = dav_server.add_user()
    settings = settings_for(dav_server, login)
    client = dav.open_client(settings)
    with dav.dav_errors(settings):
        (calendar,) = dav.list_calendars(client, dav.discover_home(client))
        before = dav._sync_token(client, calendar.url)
        dav_server.put_object(login, "lunch.ics", (ICS / "floating.ics").read_text())
        after = dav._sync_token(client, calendar.url)
    assert before and after and after != before


def server_free_busy(
    server: DavServer, login: DavAccount, start: str, end: str
) -> list[tuple[str, str, bool]]:
    """The server's own free-busy-query REPORT (RFC 4791 7.10), as (start, end, tentative) in UTC."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f'<C:time-range start="{start}" end="{end}"/></C:free-busy-query>'
    )
    status, answer = server.request(
        login, "REPORT", server.calendar_path(login), body, {"Depth": "1"}
    )
    assert status == 200
    periods = []
    for line in answer.decode().replace("\r\n ", "").replace("\n ", "").splitlines():
        if line.startswith("FREEBUSY") and "FBTYPE=FREE" not in line:
            first, last = line.rsplit(":", 1)[1].split("/")
            periods.append((first, last, "BUSY-TENTATIVE" in line))
    return sorted(periods)


def test_free_busy_computed_from_events_matches_xandikos_free_busy_query(
    dav_servers: dict[str, DavServer],
) -> None:
    """Computing free/busy from events gives the server's own answer where the server
    gets it right (Xandikos; Radicale shifts a recurring instance after the DST change,
    and both read floating times as UTC, which is why we never ask the server)."""
    server = dav_servers["xandikos"]
    login = server.add_user()
    for name in (
        "cancelled.ics",
        "all-day-multi.ics",
        "new-york-call.ics",
        "windows-zone.ics",
        "weekly-exdate-moved.ics",
    ):
        server.put_object(login, name, (ICS / name).read_text())
    settings = settings_for(server, login)
    client = dav.open_client(settings)
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    with dav.dav_errors(settings):
        (calendar,) = dav.list_calendars(client, dav.discover_home(client))
        answer = dav.query(client, calendar.url, start, end)
    out = expand.Expansion()
    for stored in answer.objects:
        expand.expand(
            expand.parse(stored.data),
            start,
            end,
            BERLIN,
            href=stored.href,
            calendar_name="C",
            out=out,
        )
    periods = [
        freebusy.Period(o.start, o.end, str(o.component.get("STATUS", "")).upper() == "TENTATIVE")
        for o in out.occurrences
        if str(o.component.get("STATUS", "")).upper() != "CANCELLED"
        and str(o.component.get("TRANSP", "")).upper() != "TRANSPARENT"
    ]
    ours = sorted(
        (
            f"{p.start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"{p.end.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            p.tentative,
        )
        for p in freebusy.busy_periods(periods, start, end)  # type: ignore[arg-type]
    )
    assert ours == server_free_busy(server, login, "20260301T000000Z", "20260401T000000Z")
    assert len(ours) == 6
