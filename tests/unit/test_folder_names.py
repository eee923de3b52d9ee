"""Folder names between the model's '/' form and the server's, and role detection."""

from __future__ import annotations

import pytest

from workers.imap.folders import (
    RawFolder,
    fingerprint,
    roles_of,
    to_display,
    to_folders,
    to_server,
)


@pytest.mark.parametrize(
    ("raw", "delimiter", "display"),
    [
        ("INBOX/Projects/2026", "/", "INBOX/Projects/2026"),
        ("INBOX.Projects.2026", ".", "INBOX/Projects/2026"),
        ('Ärger "quoted"', ".", 'Ärger "quoted"'),
        ("Top", None, "Top"),
    ],
)
def test_names_round_trip_through_the_display_form(
    raw: str, delimiter: str | None, display: str
) -> None:
    assert to_display(raw, delimiter) == display
    assert to_server(display, delimiter) == raw


def test_inbox_is_matched_without_regard_to_case() -> None:
    assert to_server("inbox/Sub", ".") == "INBOX.Sub"


def folder(name: str, *flags: str, status: dict[str, int] | None = None) -> RawFolder:
    return RawFolder(
        name, "/", frozenset(flags), {"MESSAGES": 0, "UNSEEN": 0} if status is None else status
    )


def test_special_use_flags_decide_roles() -> None:
    folders = to_folders([folder("INBOX"), folder("Gesendet", "\\sent"), folder("Sent")])
    roles = {f.name: f.role for f in folders}
    assert roles == {"INBOX": "inbox", "Gesendet": "sent", "Sent": None}


def test_well_known_names_give_roles_when_the_server_has_no_special_use() -> None:
    folders = to_folders(
        [
            folder("INBOX"),
            folder("Sent Items"),
            folder("Papierkorb"),
            folder("Spam"),
            folder("Notes"),
        ]
    )
    roles = {f.name: f.role for f in folders}
    assert roles == {
        "INBOX": "inbox",
        "Sent Items": "sent",
        "Papierkorb": "trash",
        "Spam": "junk",
        "Notes": None,
    }


def test_a_container_without_mail_is_reported_as_not_selectable() -> None:
    (container,) = to_folders([folder("Lists", "\\noselect", status={})])
    assert container.selectable is False and container.messages is None


def test_the_fingerprint_changes_with_content_but_not_with_unread_counts_alone() -> None:
    base = [folder("INBOX", status={"MESSAGES": 3, "UIDNEXT": 4, "UNSEEN": 1, "HIGHESTMODSEQ": 9})]
    same = [folder("INBOX", status={"MESSAGES": 3, "UIDNEXT": 4, "UNSEEN": 1, "HIGHESTMODSEQ": 9})]
    flagged = [
        folder("INBOX", status={"MESSAGES": 3, "UIDNEXT": 4, "UNSEEN": 0, "HIGHESTMODSEQ": 10})
    ]
    arrived = [
        folder("INBOX", status={"MESSAGES": 4, "UIDNEXT": 5, "UNSEEN": 1, "HIGHESTMODSEQ": 9})
    ]
    renamed = [
        folder("Inbox2", status={"MESSAGES": 3, "UIDNEXT": 4, "UNSEEN": 1, "HIGHESTMODSEQ": 9})
    ]
    assert fingerprint(base) == fingerprint(same)
    assert len({fingerprint(x) for x in (base, flagged, arrived, renamed)}) == 4


def test_the_writing_tools_find_a_sent_folder_known_only_by_its_name() -> None:
    # A server without SPECIAL-USE: get_folders shows "Sent Items" as sent, and saving a
    # sent copy (writing.folder_with_role) must use the same folder, by the same rule.
    listed = [folder("INBOX"), folder("Sent Items"), folder("Papierkorb"), folder("Notes")]
    assert roles_of(listed) == {
        "INBOX": "inbox",
        "Sent Items": "sent",
        "Papierkorb": "trash",
        "Notes": None,
    }
    shown = {f.name: f.role for f in to_folders(listed)}
    assert shown == roles_of(listed)
