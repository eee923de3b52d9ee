"""msgspec's validation messages, reworded as sentences a person (or a model) acts on.

msgspec says "Expected `str` of length >= 1 - at `$.destination`"; the user should
read "destination must not be empty." Checks of our own (``__post_init__``) already
speak in sentences and pass through unchanged.
"""

from __future__ import annotations

import re

_AT = r"(?: - at `\$\.?(?P<path>[^`]*)`)?$"
_KINDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "left out",
}
_LENGTH = re.compile(r"^Expected `(?P<kind>[\w |]+)` of length (?P<op>[<>]=?) (?P<n>\d+)" + _AT)
_BOUND = re.compile(r"^Expected `(?P<kind>[\w |]+)` (?P<op>[<>]=?) (?P<n>[-\d.e]+)" + _AT)
_TYPE = re.compile(r"^Expected `(?P<kind>[\w |]+)`, got `(?P<got>\w+)`" + _AT)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`" + _AT)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`" + _AT)
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+?)" + _AT)


def _field(path: str | None, fallback: str = "the arguments") -> str:
    return path if path else fallback


def _kind(kind: str) -> str:
    return " or ".join(_KINDS.get(part.strip(), part.strip()) for part in kind.split("|"))


def reworded(message: str, tool: str) -> str:
    """One sentence for a validation error of ``tool``'s arguments."""
    text = message.strip()
    if m := _LENGTH.match(text):
        field, n, op = _field(m["path"]), int(m["n"]), m["op"]
        unit = "items" if m["kind"] == "array" else "characters"
        if op == ">=" and n == 1:
            return f"{field} must not be empty."
        if op.startswith(">"):
            return f"{field} must have at least {n} {unit}."
        return f"{field} is too long: at most {n} {unit}."
    if m := _BOUND.match(text):
        word = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than"}[m["op"]]
        return f"{_field(m['path'])} must be {word} {m['n']}."
    if m := _TYPE.match(text):
        got = _KINDS.get(m["got"], m["got"]).removeprefix("a ").removeprefix("an ")
        return f"{_field(m['path'])} must be {_kind(m['kind'])}, not {got}."
    if m := _MISSING.match(text):
        return f"{tool} needs {m['field']}; give it and call again."
    if m := _UNKNOWN.match(text):
        return (
            f"{tool} has no argument named {m['field']}; leave it out (tools/list shows the "
            "arguments)."
        )
    if m := _ENUM.match(text):
        return f"{m['value']} is not one of the values {_field(m['path'])} accepts."
    if " - at `$" in text:  # any other msgspec message: keep its words, name the argument
        words, _, path = text.partition(" - at `$")
        return f"{path.strip('.`') or 'An argument'}: {words.replace('`', '')}."
    return text
