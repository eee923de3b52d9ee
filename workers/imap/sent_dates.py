"""When messages were sent, as mail clients show and sort them (blocking).

SORT DATE (RFC 5256) orders by the Date header and, where a message has none
that can be read, by when it was received. ``date_keys`` reads that same key
back, to cut a sorted answer to a time of day (the server's criteria compare
whole days) and to merge the sorted answers of several folders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from workers.imap.decode import to_str
from workers.imap.fetch_answer import header_fields, received_time
from workers.imap.pool import ImapConnection

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DATE_ITEMS = ["BODY.PEEK[HEADER.FIELDS (DATE)]", "INTERNALDATE"]
TRIM_CHUNK = 100


def sent_time(date_header: Any) -> datetime | None:
    """The moment a Date header names (UTC where it gives no zone); None where it cannot
    be read or lies before 1970: Dovecot sorts those by when they were received."""
    if date_header is None:
        return None
    try:
        sent = parsedate_to_datetime(to_str(date_header))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if not isinstance(sent, datetime):
        return None
    sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
    return sent if sent > EPOCH else None


def date_keys(conn: ImapConnection, uids: list[int]) -> dict[int, datetime]:
    """What SORT DATE orders ``uids`` by: the Date header, else the received time (one
    FETCH in the selected folder). A message gone meanwhile has no key."""
    if not uids:
        return {}
    data = conn.client.fetch(uids, DATE_ITEMS)
    keys = {}
    for uid in uids:
        item = data.get(uid)
        if item is None:
            continue
        header = header_fields(item).get("Date")
        keys[uid] = sent_time(header) or received_time(item) or EPOCH
    return keys


def trim(
    conn: ImapConnection, uids: list[int], since: float | None, before: float | None
) -> list[int]:
    """``uids`` (newest first by SORT DATE, found with whole days) cut to those sent at or
    after ``since`` and before ``before`` (seconds since 1970 UTC; None: no bound).

    Those outside lie at the two ends; their dates are fetched from each end until
    one inside is met: a day or two of mail, one FETCH as a rule."""
    start, end = 0, len(uids)
    from_newest, from_oldest = before is not None, since is not None
    chunk = TRIM_CHUNK
    while (from_newest or from_oldest) and start < end:
        head = uids[start : min(end, start + chunk)] if from_newest else []
        tail = uids[max(start, end - chunk) : end] if from_oldest else []
        keys = date_keys(conn, sorted(set(head + tail)))
        if before is not None and from_newest:
            cut = _outside(head, keys, lambda key: key >= before)
            start += cut
            from_newest = cut == len(head)
        if since is not None and from_oldest:
            tail = uids[max(start, end - chunk) : end]  # the head's cut may reach into it
            cut = _outside(tail[::-1], keys, lambda key: key < since)
            end -= cut
            from_oldest = cut == len(tail)
        chunk *= 2
    return uids[start:end]


def _outside(uids: list[int], keys: dict[int, datetime], outside: Callable[[float], bool]) -> int:
    """How many of ``uids``, from the first, lie outside the bound (or are gone)."""
    count = 0
    for uid in uids:
        if uid in keys and not outside(keys[uid].timestamp()):
            break
        count += 1
    return count
