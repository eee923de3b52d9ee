"""The CalDAV client layer against Radicale and Xandikos: conditional writes and listing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from protocol.errors import Conflict
from protocol.settings import DavSettings, PoolSettings
from tests.servers.dav import DavAccount, DavServer
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
