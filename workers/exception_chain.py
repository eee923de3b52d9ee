"""Every exception behind one: what a library's error wraps, looked for by type.

Libraries wrap the error that explains a failure (niquests and aiosmtplib the
ssl error, sometimes only as an argument; anyio a failed connect attempt in an
exception group), so a worker looks through the whole chain rather than at the
outer type.
"""

from __future__ import annotations


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` first, then its causes, contexts, exceptions passed as its arguments and
    the members of exception groups among them, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
        todo += [arg for arg in current.args if isinstance(arg, BaseException)]
        if isinstance(current, BaseExceptionGroup):
            todo += list(current.exceptions)
    return seen
