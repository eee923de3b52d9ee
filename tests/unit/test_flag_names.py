"""Flags as the mail tools report them."""

from __future__ import annotations

from workers.imap.summary import flag_names


def test_our_claim_keywords_never_show_as_flags() -> None:
    flags = [b"\\Seen", b"$MailboxMcpMoving", b"$mailboxmcpsending", b"$Label1", b"\\Recent"]
    assert flag_names(flags) == ["seen", "$Label1"]
