"""What the CalDAV principal says about scheduling (RFC 6638), asked once per worker.

``calendar-user-address-set`` lists the user's own addresses (aliases included on
servers that know them): an invitation naming any of them is the user's.
``schedule-outbox-URL`` says the server schedules itself: on such a server an
attendee's changed PARTSTAT may make the server mail the organizer a reply, which is
why the copy this server stores says SCHEDULE-AGENT=CLIENT (see invitations.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from caldav.davclient import DAVClient

from workers.dav.handlers import DavState
from workers.dav.propfind import NS
from workers.runtime import CallContext

_PRINCIPAL = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><c:schedule-outbox-URL/><c:calendar-user-address-set/></d:prop>
</d:propfind>"""
MAX_ADDRESSES = 50


@dataclass(frozen=True)
class PrincipalFacts:
    addresses: frozenset[str]  # mail addresses, lower case
    schedules: bool  # the principal has a schedule-outbox-URL


_known: dict[int, PrincipalFacts] = {}
_lock = anyio.Lock()


def read_facts(client: DAVClient) -> PrincipalFacts:
    """One PROPFIND on the principal (blocking); nothing known when it fails."""
    try:
        principal = client.principal()  # type: ignore[no-untyped-call]
        response = client.propfind(str(principal.url), _PRINCIPAL, depth=0)
    except Exception:  # a server without a principal, or one that refuses: no facts
        return PrincipalFacts(frozenset(), False)
    tree = response.tree if int(getattr(response, "status", 0) or 0) == 207 else None
    if tree is None:
        return PrincipalFacts(frozenset(), False)
    addresses = set()
    schedules = False
    for propstat in tree.findall(".//d:propstat", NS):
        if "200" not in (propstat.findtext("d:status", default="", namespaces=NS) or ""):
            continue
        outbox = propstat.find(".//c:schedule-outbox-URL/d:href", NS)
        schedules = schedules or (outbox is not None and bool((outbox.text or "").strip()))
        for href in propstat.findall(".//c:calendar-user-address-set/d:href", NS):
            text = (href.text or "").strip()
            if text.lower().startswith("mailto:") and "@" in text:
                addresses.add(text[7:].strip().lower())
    return PrincipalFacts(frozenset(sorted(addresses)[:MAX_ADDRESSES]), schedules)


async def principal_facts(state: DavState, ctx: CallContext) -> PrincipalFacts:
    """The principal's facts, read once per worker."""
    async with _lock:
        found = _known.get(id(state))
        if found is None:
            found = await state.pool.run(read_facts, deadline=ctx.deadline)
            _known[id(state)] = found
        return found
