"""Floors for the mail tools: the same server work as ours, by bare imapclient.

Each takes a logged-in IMAPClient whose folder is already selected, as a warm
client has it, sends what a careful client would to answer the same question,
and returns what it found (hits, bytes) so the benchmark can check our answer.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

PAGE = 20
PAGE_ITEMS = ["ENVELOPE", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "INTERNALDATE", "PREVIEW"]
THREAD_HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES FROM TO SUBJECT DATE)]"
LIST_STATUS = "(SPECIAL-USE STATUS (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ))"
MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")
DATE_ITEMS = ["BODY.PEEK[HEADER.FIELDS (DATE)]", "INTERNALDATE"]
UNDATED = date(1970, 1, 1)  # Dovecot's sent date of a message without a readable Date
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Imap = Any  # a logged-in imapclient.IMAPClient


def sent_between(since: date, before: date) -> list[Any]:
    """Sent from ``since`` to before ``before`` by the Date header; by the received time
    where a message has none (what a client that sorts by Date has to ask)."""
    return [
        *("OR", "SENTSINCE", since, ["SENTON", UNDATED, "SINCE", since]),
        *("OR", ["NOT", "SENTON", UNDATED, "SENTBEFORE", before]),
        ["SENTON", UNDATED, "BEFORE", before],
    ]


def list_status(imap: Imap) -> int:
    """LIST-STATUS sent raw (imapclient has no call for it); the answer is not parsed."""
    typ, _ = imap._imap._simple_command("LIST", '""', '"*"', "RETURN", LIST_STATUS)
    listed = len(imap._imap.untagged_responses.pop("LIST", []))
    imap._imap.untagged_responses.clear()
    assert typ == "OK"
    return listed


def sort_and_page(criteria: list[Any]) -> Callable[[Imap], int]:
    """SORT by the Date header, newest first, and FETCH the page's summaries."""

    def run(imap: Imap) -> int:
        uids: list[int] = imap.sort(["DATE"], criteria)[::-1]
        imap.fetch(uids[:PAGE], PAGE_ITEMS)
        return len(uids)

    return run


def sort_everywhere(criteria: list[Any]) -> Callable[[Imap], int]:
    """SORT DATE in every folder, the dates of each folder's newest to merge (the Date
    header, else the received time, as SORT DATE has them), the page's summaries."""

    def run(imap: Imap) -> int:
        newest: list[tuple[Any, str, int]] = []
        total = 0
        for flags, _delimiter, name in imap.list_folders():
            if any(flag.lower() == b"\\noselect" for flag in flags):
                continue
            imap.select_folder(name, readonly=True)
            uids = imap.sort(["DATE"], criteria)[::-1]
            total += len(uids)
            dates = imap.fetch(uids[: PAGE + 1], DATE_ITEMS) if uids else {}
            newest += [(_sort_date(item), name, uid) for uid, item in dates.items()]
        page = heapq.nlargest(PAGE, newest)
        for name in {name for _date, name, _uid in page}:
            imap.select_folder(name, readonly=True)
            imap.fetch([uid for _date, n, uid in page if n == name], PAGE_ITEMS)
        return total

    return run


def _sort_date(item: dict[bytes, Any]) -> datetime:
    raw = next(v for k, v in item.items() if k.startswith(b"BODY[HEADER"))
    try:
        sent = parsedate_to_datetime(raw.decode("ascii", "replace").partition(":")[2].strip())
        sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        sent = None
    if sent is not None and sent > EPOCH:
        return sent
    received: datetime = item[b"INTERNALDATE"]
    return received if received.tzinfo else received.replace(tzinfo=UTC)


def read_message(uid: int) -> Callable[[Imap], int]:
    def run(imap: Imap) -> int:
        imap.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])
        return len(imap.fetch([uid], ["BODY.PEEK[1]"])[uid][b"BODY[1]"])

    return run


def read_part(uid: int, part: str) -> Callable[[Imap], int]:
    def run(imap: Imap) -> int:
        imap.fetch([uid], ["BODYSTRUCTURE"])
        return len(imap.fetch([uid], [f"BODY.PEEK[{part}]"])[uid][f"BODY[{part}]".encode()])

    return run


def gather_thread(uid: int) -> Callable[[Imap], int]:
    """The start's headers; in INBOX, Sent and Archive a header SEARCH for the ids it
    names, the headers of what is new; then an excerpt of each text part."""

    def run(imap: Imap) -> int:
        imap.select_folder("INBOX", readonly=True)
        first = imap.fetch([uid], [THREAD_HEADERS, "INTERNALDATE", "BODYSTRUCTURE"])[uid]
        raw = next(v for k, v in first.items() if k.startswith(b"BODY[HEADER"))
        headers = BytesHeaderParser().parsebytes(raw)
        named = ("Message-ID", "In-Reply-To", "References")
        ids = sorted(
            {i for name in named for v in headers.get_all(name, []) for i in MESSAGE_ID.findall(v)}
        )
        terms = [["HEADER", h, i] for i in ids for h in ("Message-ID", "In-Reply-To", "References")]
        criteria = [item for term in terms[:-1] for item in ("OR", *term)] + terms[-1]
        found = {}
        for folder in ("INBOX", "Sent", "Archive"):
            imap.select_folder(folder, readonly=True)
            found[folder] = imap.search(criteria)
            new = [u for u in found[folder] if (folder, u) != ("INBOX", uid)]
            if new:
                imap.fetch(new, [THREAD_HEADERS, "INTERNALDATE", "BODYSTRUCTURE"])
        for folder, uids in found.items():
            if uids:
                imap.select_folder(folder, readonly=True)
                imap.fetch(uids, ["BODY.PEEK[1]<0.16384>"])
        return sum(len(uids) for uids in found.values())

    return run
