"""msgspec's validation messages reach the model as sentences, never as msgspec's notation."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest

from supervisor.argument_errors import reworded


class Args(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 5
    ids: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1, max_length=3)
    ] = msgspec.field(default_factory=lambda: ["x"])
    read: bool = False
    scope: Literal["occurrence", "series"] = "occurrence"
    when: str | None = None


@pytest.mark.parametrize(
    ("given", "sentence"),
    [
        ({"id": ""}, "id must not be empty."),
        ({"id": "x" * 11}, "id is too long: at most 10 characters."),
        ({}, "tool needs id; give it and call again."),
        ({"id": "x", "colour": 1}, "tool has no argument named colour; leave it out"),
        ({"id": "x", "limit": "5"}, "limit must be a whole number, not text."),
        ({"id": "x", "limit": 0}, "limit must be at least 1."),
        ({"id": "x", "limit": 500}, "limit must be at most 200."),
        ({"id": "x", "ids": []}, "ids must not be empty."),
        ({"id": "x", "ids": ["a", "b", "c", "d"]}, "ids is too long: at most 3 items."),
        ({"id": "x", "ids": [""]}, "ids[0] must not be empty."),
        ({"id": "x", "read": "yes"}, "read must be true or false, not text."),
        ({"id": "x", "scope": "all"}, "'all' is not one of the values scope accepts."),
        ({"id": "x", "when": 3}, "when must be text or left out, not whole number."),
    ],
)
def test_each_kind_of_invalid_argument_reads_as_a_sentence(
    given: dict[str, object], sentence: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as error:
        msgspec.convert(given, Args)
    text = reworded(str(error.value), "tool")
    assert text.startswith(sentence), text
    assert "`" not in text and "$." not in text
