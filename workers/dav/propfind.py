"""What a PROPFIND answer says: the namespaces we ask in, the properties of one response,
and the collections a listing of a home names (calendars and address books alike)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

NS = {
    "d": "DAV:",
    "c": "urn:ietf:params:xml:ns:caldav",
    "cs": "http://calendarserver.org/ns/",
    "a": "http://apple.com/ns/ical/",
}


@dataclass(frozen=True)
class Listed:
    """One collection of a home's listing, with what every listing reads of it."""

    url: str  # absolute
    path: str  # the id we give out
    name: str
    read_only: bool
    props: Any  # the rest of what the server said of it


def listed_collections(
    response: Any, home: str, kind: str, namespaces: dict[str, str], as_folder: bool = False
) -> Iterator[Listed]:
    """The collections whose resourcetype holds ``kind`` (as "c:calendar") in the answer
    to a PROPFIND of ``home``, on the configured server only. ``as_folder``: a URL is
    made to end in "/" (the address books', whose cards' hrefs are built on it)."""
    for item in response.tree.findall("d:response", NS) if response.tree is not None else []:
        props = _ok_props(item)
        kinds = props.find("d:resourcetype", NS) if props is not None else None
        if props is None or kinds is None or kinds.find(kind, namespaces) is None:
            continue
        url = urljoin(home, item.findtext("d:href", default="", namespaces=NS))
        if not same_origin(url, home):
            continue  # the password goes to one server only
        if as_folder and not url.endswith("/"):
            url += "/"
        privileges = props.find("d:current-user-privilege-set", NS)
        read_only = privileges is not None and not any(
            privileges.find(f"d:privilege/d:{p}", NS) is not None
            for p in ("write", "write-content", "all", "bind")
        )
        path = unquote(urlsplit(url).path)
        name = _text(props, "d:displayname") or path.rstrip("/").rsplit("/", 1)[-1]
        yield Listed(url, path, name, read_only, props)


def _ok_props(response: Any) -> Any:
    for propstat in response.findall("d:propstat", NS):
        status = propstat.findtext("d:status", default="", namespaces=NS)
        if status.split()[1:2] == ["200"]:  # "HTTP/1.1 200 OK"
            return propstat.find("d:prop", NS)
    return None


def _text(props: Any, path: str) -> str:
    return " ".join((props.findtext(path, default="", namespaces=NS) or "").split())


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)
