"""CalDAV over caldav's DAVClient: discovery, one-PROPFIND calendar listing, time-range
REPORTs and conditional writes (blocking; run in worker threads).

The XML we send is ours and small, so each call is exactly one request and
we know what it asks: no server-side expansion, ETags with every object.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from caldav.davclient import DAVClient
from caldav.lib import error as dav_error

from protocol import errors
from protocol.settings import DavSettings
from workers.dav.propfind import NS, _ok_props, _text, listed_collections, same_origin
from workers.tls import certificate_problem

LIST_CALENDARS_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"
    xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/">
  <d:prop>
    <d:resourcetype/><d:displayname/><a:calendar-color/><c:calendar-description/>
    <c:supported-calendar-component-set/><d:current-user-privilege-set/>
    <cs:getctag/>
  </d:prop>
</d:propfind>"""
# Asked only of calendars without a ctag: Radicale computes a sync-token by walking
# every object's history (with 5,000 events, 510 ms for ctag and sync-token, 210 ms
# for the ctag alone), and the listing is also the freshness check of every hit.
_SYNC_TOKEN = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>"""

_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter>
    <c:comp-filter name="VCALENDAR">
      <c:comp-filter name="{component}">{range}</c:comp-filter>
    </c:comp-filter>
  </c:filter>
</c:calendar-query>"""
_RANGE = '<c:time-range start="{start}" end="{end}"/>'


@dataclass
class QueryAnswer:
    objects: list[StoredObject]
    unfiltered: bool  # the server could not filter by time: every event object came back


@dataclass(frozen=True)
class CalendarMeta:
    url: str  # absolute
    path: str  # the id we give out
    name: str
    color: str | None
    description: str | None
    read_only: bool
    components: list[str]
    version: str  # ctag or sync-token: changes with every change inside


@dataclass(frozen=True)
class StoredObject:
    href: str  # path on the server
    etag: str | None
    data: str


def open_client(settings: DavSettings) -> DAVClient:
    return DAVClient(
        url=settings.url,
        username=settings.username,
        password=settings.password,
        ssl_verify_cert=settings.ca_file or True,
        timeout=int(settings.pool.read_timeout),
        enable_rfc6764=False,
    )


@contextmanager
def dav_errors(settings: DavSettings) -> Iterator[None]:
    """caldav/niquests exceptions to MailErrors with a sentence for the user."""
    where = urlsplit(settings.url).netloc or settings.url
    try:
        yield
    except errors.MailError:
        raise
    except dav_error.AuthorizationError as exc:
        # By the status, never the message: that holds the URL, whose port may read 403.
        if exc.status == 403 or (exc.status is None and "Forbidden" in exc.reason):
            raise errors.Refused(f"The calendar server {where} does not allow that.") from None
        raise errors.AuthFailed(
            f"The calendar server {where} refused the login for {settings.username}; check the "
            "app password (MAILBOX_PASSWORD or MAILBOX_PASSWORD_COMMAND) and MAILBOX_CALDAV_URL."
        ) from None
    except dav_error.NotFoundError:
        raise errors.NotFound(
            "That is no longer on the calendar server; look it up again."
        ) from None
    except dav_error.DAVError:
        # The library's text quotes the server's answer: not for the model to read.
        raise errors.ProtocolViolation(
            f"The calendar server {where} gave an answer that could not be understood; try "
            "again later, and check MAILBOX_CALDAV_URL if it keeps happening."
        ) from None
    except TimeoutError:
        raise errors.ServerTimeout(f"The calendar server {where} did not answer in time.") from None
    except Exception as exc:
        error = _network_error(exc, where)
        if error is None:
            raise
        raise error from None


def _network_error(exc: Exception, where: str) -> errors.MailError | None:
    """The MailError for a network or TLS failure; None for anything else."""
    problem = certificate_problem(exc, where, "MAILBOX_CALDAV_URL")
    if problem is not None:
        return errors.Unavailable(problem)
    if isinstance(exc, OSError):
        return errors.Unavailable(
            f"Could not reach the calendar server {where} ({_reason(exc)}); check "
            "MAILBOX_CALDAV_URL and your connection."
        )
    name = type(exc).__name__  # niquests' own ConnectionError / Timeout are not OSErrors
    if "Timeout" in name:
        return errors.ServerTimeout(f"The calendar server {where} did not answer in time.")
    if "Connection" in name or "SSL" in name or "Request" in name:
        return errors.Unavailable(
            f"Could not reach the calendar server {where}; check "
            "MAILBOX_CALDAV_URL and your connection."
        )
    return None


def _reason(exc: OSError) -> str:
    """Why a connection failed, in words of ours (the library's text names its own classes)."""
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, socket.gaierror):
        return "its name could not be looked up"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    return "the network failed"


def discover_home(client: DAVClient) -> str:
    """The calendar home URL, found from the configured URL via the principal."""
    principal = client.principal()  # type: ignore[no-untyped-call]
    home = principal.calendar_home_set
    return str(home.url)


def _check(response: Any, what: str, *, write: bool = False) -> None:
    status = int(getattr(response, "status", 0) or 0)
    if status == 412:
        raise errors.Conflict(
            "The event was changed elsewhere since it was read; look it up again and repeat "
            "the change if it is still wanted."
        )
    if status == 423:  # Xandikos, while another write to the same object is under way
        raise errors.Conflict(
            "The calendar server was saving another change to it at that moment, so nothing "
            "was changed; look it up again and repeat the change if it is still wanted."
        )
    if status == 404:
        raise errors.NotFound("That is no longer on the calendar server; look it up again.")
    if status == 403:
        raise errors.Refused(
            f"The calendar server does not allow {what} here (read-only calendar?)."
        )
    if status >= 500:
        raise errors.ProtocolViolation(server_failed("The calendar server", what, status, write))
    if status >= 400:
        raise errors.ProtocolViolation(f"The calendar server refused {what} (HTTP {status}).")


def server_failed(server: str, what: str, status: int, write: bool) -> str:
    """The sentence for a server's own failure (HTTP 5xx) while ``what``. After a write
    it may have been kept or not (Xandikos answers 500 when two writes to one object
    collide), so it says to look before repeating; a read may simply be tried again."""
    if write:
        return (
            f"{server} failed while {what} (HTTP {status}); look it up again, and repeat the "
            "change if it did not take effect."
        )
    return f"{server} failed while {what} (HTTP {status}); try again in a moment."


def list_calendars(client: DAVClient, home: str) -> list[CalendarMeta]:
    response = client.propfind(home, LIST_CALENDARS_PROPFIND, depth=1)
    _check(response, "listing calendars")
    result = []
    for listed in listed_collections(response, home, "c:calendar", NS):
        props = listed.props
        components = [
            str(c.get("name")).upper()
            for c in props.findall("c:supported-calendar-component-set/c:comp", NS)
        ]
        version = _text(props, "cs:getctag") or _sync_token(client, listed.url)
        result.append(
            CalendarMeta(
                url=listed.url,
                path=listed.path,
                name=listed.name,
                color=_text(props, "a:calendar-color") or None,
                description=_text(props, "c:calendar-description") or None,
                read_only=listed.read_only,
                components=components or ["VEVENT"],
                version=version,
            )
        )
    return result


def named(calendars: list[CalendarMeta], ref: str, kind: str) -> list[CalendarMeta]:
    """The calendars ``ref`` names, by id or by name in any case. Raises InvalidArgument
    naming those there are, each a ``kind`` ("calendar", "task list")."""
    match = [c for c in calendars if c.path == ref or c.name.casefold() == ref.casefold()]
    if not match:
        names = ", ".join(f"'{c.name}'" for c in calendars) or "none"
        raise errors.InvalidArgument(f"There is no {kind} {ref!r}; the {kind}s are {names}.")
    return match


def _sync_token(client: DAVClient, calendar_url: str) -> str:
    """The calendar's sync-token, or "" (then no cached answer from it is ever reused)."""
    response = client.propfind(calendar_url, _SYNC_TOKEN, depth=0)
    if int(getattr(response, "status", 0) or 0) != 207 or response.tree is None:
        return ""
    item = response.tree.find("d:response", NS)
    props = _ok_props(item) if item is not None else None
    return _text(props, "d:sync-token") if props is not None else ""


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def query(
    client: DAVClient,
    calendar_url: str,
    start: datetime | None,
    end: datetime | None,
    component: str = "VEVENT",
) -> QueryAnswer:
    """Every object holding a ``component`` (VEVENT, or VTODO for tasks) with an
    occurrence overlapping [start, end), or every one without a range: one REPORT.

    A server that chokes on its own stored data while filtering (Radicale answers
    400 when one object has a rule or zone it cannot evaluate) is asked once more
    without the time range, so one hostile event cannot hide the whole calendar.
    """
    whole = _QUERY.format(component=component, range="")
    body = whole
    if start is not None and end is not None:
        body = _QUERY.format(
            component=component, range=_RANGE.format(start=_utc(start), end=_utc(end))
        )
    response = client.report(calendar_url, body, depth=1)
    if _choked(response):
        response = client.report(calendar_url, whole, depth=1)
        if _choked(response):
            return QueryAnswer(_one_by_one(client, calendar_url), unfiltered=True)
        _check(response, "running the calendar query")
        return QueryAnswer(_objects(response, calendar_url), unfiltered=True)
    _check(response, "running the calendar query")
    return QueryAnswer(_objects(response, calendar_url), unfiltered=False)


def _choked(response: Any) -> bool:
    return int(getattr(response, "status", 0) or 0) in (400, 500, 501, 507)


_LIST_OBJECTS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"""
MAX_OBJECTS_ONE_BY_ONE = 2000


def _one_by_one(client: DAVClient, calendar_url: str) -> list[StoredObject]:
    """The last resort for a server that cannot report its own data: list, then GET each."""
    response = client.propfind(calendar_url, _LIST_OBJECTS, depth=1)
    _check(response, "listing the calendar")
    base = unquote(urlsplit(calendar_url).path)
    hrefs = []
    for item in response.tree.findall("d:response", NS) if response.tree is not None else []:
        href = unquote(
            urlsplit(urljoin(calendar_url, item.findtext("d:href", default="", namespaces=NS))).path
        )
        if href.rstrip("/") != base.rstrip("/"):
            hrefs.append(href)
    found = []
    for href in hrefs[:MAX_OBJECTS_ONE_BY_ONE]:
        try:
            found.append(fetch(client, href))
        except (errors.NotFound, errors.ProtocolViolation):
            continue
    return found


def _objects(response: Any, calendar_url: str) -> list[StoredObject]:
    tree = response.tree
    found = []
    for item in tree.findall("d:response", NS) if tree is not None else []:
        props = _ok_props(item)
        if props is None:
            continue
        data = props.findtext("c:calendar-data", default="", namespaces=NS)
        if not data:
            continue
        href = unquote(
            urlsplit(urljoin(calendar_url, item.findtext("d:href", default="", namespaces=NS))).path
        )
        found.append(StoredObject(href, _text(props, "d:getetag") or None, data))
    return found


def absolute(client: DAVClient, path: str) -> str:
    """``path`` on the configured server; refuses anything that would leave it.

    Every request carries the password (HTTP Basic), so an href from an event id
    (which the model hands back, and could forge) must never name another host.
    Raises InvalidArgument.
    """
    base = str(client.url)
    url = urljoin(base, path)
    if not same_origin(url, base) or any(c in path for c in "\r\n\x00"):
        raise errors.InvalidArgument(
            "That id does not name an event on the calendar server; use an id exactly as "
            "get_calendar_events returned it."
        )
    return url


def _object_url(client: DAVClient, href: str) -> str:
    """The URL of the object at ``href`` (a decoded path, as listings and ids hold it),
    percent-encoded so the server decodes it to exactly ``href``: a name another client
    chose with '%41', '#' or '?' names that object, never another one or the calendar."""
    return absolute(client, quote(href, safe="/@"))


def fetch(client: DAVClient, href: str) -> StoredObject:
    response = client.request(_object_url(client, href), "GET")
    _check(response, "reading the event")
    raw = response._raw
    data = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return StoredObject(href, response.headers.get("ETag"), data)


def store(client: DAVClient, href: str, data: str, etag: str | None) -> None:
    """PUT: If-Match the ETag we read, or If-None-Match * for a new object."""
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    if etag:
        headers["If-Match"] = etag
    else:
        headers["If-None-Match"] = "*"
    response = client.request(_object_url(client, href), "PUT", data, headers)
    _check(response, "saving the event", write=True)


def remove(client: DAVClient, href: str, etag: str | None) -> None:
    headers = {"If-Match": etag} if etag else {}
    response = client.request(_object_url(client, href), "DELETE", "", headers)
    _check(response, "deleting the event", write=True)
