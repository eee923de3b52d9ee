"""Sieve string literals (RFC 5228 section 2.4.2) made from any Python string, safely.

A quoted string can only be left through an unescaped ``"``, so escaping ``\\`` and ``"``
is all the protection the syntax needs. What the syntax does not protect is the *text
around* the strings: OX App Suite keeps a rule's name in a comment line and reads its
rules line by line, so a line break in a name, folder or header value would start a line
of code (``"\\r\\ndiscard;"``). Every one-line value is therefore checked: control
characters (C0, DEL, C1), the Unicode line and paragraph separators (Java's regular
expressions end a line there) and unpaired surrogates (not encodable as UTF-8) are
refused with a sentence naming the value.

The one multi-line value is a vacation reply's body. OX writes it as an ordinary quoted
string whose line breaks are CRLF (RFC 5228 allows CRLF inside a quoted string), so we do
the same rather than a ``text:`` literal: every line break becomes the script's newline,
and only NUL and unpaired surrogates are refused.
"""

from __future__ import annotations

import re

from protocol.errors import InvalidArgument

_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_A_BODY = re.compile("[\x00\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n|\r|\n")
_ADDRESS = re.compile(r"[^\s@<>\"]+@[^\s@<>\"]+")


def check_line(value: str, what: str) -> str:
    """``value`` unchanged if it can stand on one line of a script.

    ``what`` names the value in the error (e.g. "The folder name").
    Raises InvalidArgument if it holds a control character or a line separator.
    """
    found = _NOT_IN_A_LINE.search(value)
    if found is not None:
        raise InvalidArgument(
            f"{what} contains a line break or another control character"
            f" (U+{ord(found.group()):04X}); give it on one line without control characters."
        )
    return value


def check_address(value: str, what: str) -> str:
    """``value`` unchanged if it looks like a bare e-mail address; InvalidArgument if not."""
    if not _ADDRESS.fullmatch(check_line(value, what)):
        raise InvalidArgument(f"{what} '{value}' is not an e-mail address (name@example.org).")
    return value


def check_body(value: str, what: str) -> str:
    """``value`` with its line breaks as ``\\n``; InvalidArgument for NUL or a lone surrogate."""
    found = _NOT_IN_A_BODY.search(value)
    if found is not None:
        raise InvalidArgument(
            f"{what} contains a character a Sieve script cannot hold (U+{ord(found.group()):04X})."
        )
    return _LINE_BREAK.sub("\n", value)


def escape(value: str) -> str:
    """The inside of a quoted string for ``value``: ``\\`` and ``"`` escaped, nothing else."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def quote(value: str, what: str) -> str:
    """``value`` as a one-line Sieve quoted string; InvalidArgument as check_line says."""
    return '"' + escape(check_line(value, what)) + '"'


def quote_body(value: str, what: str, newline: str) -> str:
    """A multi-line text as a quoted string whose line breaks are ``newline`` (as OX does)."""
    return '"' + escape(check_body(value, what)).replace("\n", newline) + '"'


def quote_list(values: tuple[str, ...], what: str) -> str:
    """Strings as OX writes a string list: one bare string, or ``[ "a" , "b" ]``."""
    if len(values) == 1:
        return quote(values[0], what)
    return "[ " + " , ".join(quote(value, what) for value in values) + " ]"


def unescape(inside: str) -> str:
    """The value of a quoted string's inside: a backslash keeps only the character after it."""
    if "\\" not in inside:
        return inside
    return re.sub(r"\\(.)", lambda m: m.group(1), inside, flags=re.DOTALL)
