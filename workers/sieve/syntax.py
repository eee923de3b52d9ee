"""Sieve's grammar (RFC 5228 section 8), read into commands that remember where they stand.

Only reading: nothing here writes a script. Each top-level command keeps its start and end
offset in the text, so a script can be cut into rules without touching a byte. Hash
comments are kept too (with their offsets), because OX App Suite's rule names live in
them. Strings are decoded (escapes and ``text:`` dot-stuffing undone; a ``text:`` literal's
lines may end in CRLF, as RFC 5228 writes them, or in a bare LF); numbers have their
K/M/G quantifier applied, as every Sieve implementation (and OX's jsieve) does.

A script is the user's, but it may have been written by anything, so nesting is bounded
and a syntax error is a ``SieveSyntaxError`` with the line it happened on, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers.sieve.quoting import unescape

MAX_NESTING = 64

_SPACE = re.compile(r"[ \t\r\n]+")
_HASH_COMMENT = re.compile(r"#[^\n]*")
_BRACKET_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_QUOTED = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_TEXT_START = re.compile(r"text:[ \t]*(?:#[^\n]*)?\r?\n")
_NUMBER = re.compile(r"[0-9]+[KMGkmg]?")
_TAG = re.compile(r":[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUANTIFIERS = {"k": 1024, "m": 1024**2, "g": 1024**3}


class SieveSyntaxError(ValueError):
    """The text is not Sieve; ``line`` is where reading stopped (1-based)."""

    def __init__(self, message: str, text: str, offset: int) -> None:
        self.line = text.count("\n", 0, offset) + 1
        super().__init__(f"{message} on line {self.line}")


@dataclass(frozen=True)
class StringList:
    """A string or a bracketed list of strings, decoded."""

    values: tuple[str, ...]
    bracketed: bool


@dataclass(frozen=True)
class Number:
    value: int


@dataclass(frozen=True)
class Tag:
    """A tagged argument such as ``:contains``, lower-cased, without its colon."""

    name: str


Argument = StringList | Number | Tag


@dataclass(frozen=True)
class Test:
    """A test: its name (lower-cased), its arguments and its nested tests.

    ``in_list`` says the nested tests were a parenthesised test list (``allof``).
    """

    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[Test, ...]
    in_list: bool


@dataclass(frozen=True)
class Command:
    """A command, its test (for ``if``), its block, and its ``[start, end)`` in the text."""

    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[Test, ...]
    block: tuple[Command, ...] | None
    start: int
    end: int


@dataclass(frozen=True)
class Comment:
    """A hash comment: its text (without the line break) and offsets."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Parsed:
    commands: tuple[Command, ...]
    comments: tuple[Comment, ...]


@dataclass(frozen=True)
class _Token:
    kind: str  # "identifier", "tag", "number", "string", or the punctuation itself
    start: int
    end: int
    value: str | int


def parse(text: str) -> Parsed:
    """The top-level commands and hash comments of ``text``; SieveSyntaxError if not Sieve."""
    tokens, comments = _tokens(text)
    reader = _Reader(text, tokens)
    commands: list[Command] = []
    while not reader.done():
        commands.append(reader.command(0))
    return Parsed(tuple(commands), tuple(comments))


def _tokens(text: str) -> tuple[list[_Token], list[Comment]]:
    tokens: list[_Token] = []
    comments: list[Comment] = []
    position = 1 if text.startswith("\ufeff") else 0
    while position < len(text):
        char = text[position]
        if match := _SPACE.match(text, position):
            position = match.end()
        elif char == "#":
            match = _HASH_COMMENT.match(text, position)
            assert match is not None
            comments.append(Comment(match.group().rstrip("\r"), position, match.end()))
            position = match.end()
        elif text.startswith("/*", position):
            match = _BRACKET_COMMENT.match(text, position)
            if match is None:
                raise SieveSyntaxError("A /* comment is never closed", text, position)
            position = match.end()
        elif char == '"':
            match = _QUOTED.match(text, position)
            if match is None:
                raise SieveSyntaxError("A quoted string is never closed", text, position)
            tokens.append(_Token("string", position, match.end(), unescape(match.group()[1:-1])))
            position = match.end()
        elif match := _TEXT_START.match(text, position):
            value, end = _multi_line(text, match.end())
            tokens.append(_Token("string", position, end, value))
            position = end
        elif char in "[](){},;":
            tokens.append(_Token(char, position, position + 1, char))
            position += 1
        elif match := _NUMBER.match(text, position):
            digits = match.group()
            factor = _QUANTIFIERS.get(digits[-1].lower(), 1)
            number = int(digits.rstrip("KMGkmg")) * factor
            tokens.append(_Token("number", position, match.end(), number))
            position = match.end()
        elif match := _TAG.match(text, position):
            tokens.append(_Token("tag", position, match.end(), match.group()[1:].lower()))
            position = match.end()
        elif match := _IDENTIFIER.match(text, position):
            tokens.append(_Token("identifier", position, match.end(), match.group().lower()))
            position = match.end()
        else:
            shown = f"'{char}'" if char.isprintable() else f"U+{ord(char):04X}"
            raise SieveSyntaxError(f"Unexpected character {shown}", text, position)
    return tokens, comments


def _multi_line(text: str, position: int) -> tuple[str, int]:
    """The value of a ``text:`` literal whose first line starts at ``position``, and its end."""
    lines: list[str] = []
    while True:
        newline = text.find("\n", position)
        end = len(text) if newline < 0 else newline + 1
        line = text[position:end]
        if line in (".", ".\n", ".\r\n"):
            return "".join(lines), end
        if newline < 0:
            raise SieveSyntaxError("A text: literal has no closing '.' line", text, position)
        lines.append(line[1:] if line.startswith(".") else line)
        position = end


class _Reader:
    """Recursive descent over the tokens, nesting bounded by MAX_NESTING."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def done(self) -> bool:
        return self.index >= len(self.tokens)

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind:
            where = len(self.text) if token is None else token.start
            found = "the end of the script" if token is None else f"'{token.value}'"
            raise SieveSyntaxError(f"Expected {kind} but found {found}", self.text, where)
        self.index += 1
        return token

    def command(self, depth: int) -> Command:
        self._check_depth(depth)
        name = self.take("identifier")
        arguments, tests, _ = self.arguments(depth)
        token = self.peek()
        if token is not None and token.kind == "{":
            self.index += 1
            block: list[Command] = []
            while (ahead := self.peek()) is not None and ahead.kind != "}":
                block.append(self.command(depth + 1))
            end = self.take("}").end
            return Command(str(name.value), arguments, tests, tuple(block), name.start, end)
        end = self.take(";").end
        return Command(str(name.value), arguments, tests, None, name.start, end)

    def arguments(self, depth: int) -> tuple[tuple[Argument, ...], tuple[Test, ...], bool]:
        """The arguments, then a test or a test list (and whether it was a list)."""
        arguments: list[Argument] = []
        while (token := self.peek()) is not None:
            if token.kind == "string":
                self.index += 1
                arguments.append(StringList((str(token.value),), bracketed=False))
            elif token.kind == "[":
                arguments.append(self.string_list())
            elif token.kind == "number":
                self.index += 1
                arguments.append(Number(int(token.value)))
            elif token.kind == "tag":
                self.index += 1
                arguments.append(Tag(str(token.value)))
            else:
                break
        token = self.peek()
        if token is not None and token.kind == "identifier":
            return tuple(arguments), (self.test(depth + 1),), False
        if token is not None and token.kind == "(":
            return tuple(arguments), self.test_list(depth + 1), True
        return tuple(arguments), (), False

    def string_list(self) -> StringList:
        self.take("[")
        values = [str(self.take("string").value)]
        while (token := self.peek()) is not None and token.kind == ",":
            self.index += 1
            values.append(str(self.take("string").value))
        self.take("]")
        return StringList(tuple(values), bracketed=True)

    def test(self, depth: int) -> Test:
        self._check_depth(depth)
        name = self.take("identifier")
        arguments, tests, in_list = self.arguments(depth)
        return Test(str(name.value), arguments, tests, in_list)

    def test_list(self, depth: int) -> tuple[Test, ...]:
        self.take("(")
        tests = [self.test(depth)]
        while (token := self.peek()) is not None and token.kind == ",":
            self.index += 1
            tests.append(self.test(depth))
        self.take(")")
        return tuple(tests)

    def _check_depth(self, depth: int) -> None:
        if depth > MAX_NESTING:
            token = self.peek()
            where = len(self.text) if token is None else token.start
            raise SieveSyntaxError("Commands or tests are nested too deeply", self.text, where)
