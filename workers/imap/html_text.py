"""HTML mail to readable text, links kept, nothing fetched (inscriptis, Apache-2.0)."""

from __future__ import annotations

import functools
import re
from typing import Any

_SCRIPTS = re.compile(rb"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANK_RUNS = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """The visible text of ``html``; scripts, styles and images (tracking pixels) dropped.

    Raises ValueError when the document cannot be parsed at all.
    """
    from inscriptis import get_text

    cleaned = _SCRIPTS.sub(b"", html.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")
    try:
        text = get_text(cleaned, _config())
    except (RecursionError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"the HTML could not be read ({type(exc).__name__})") from exc
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


@functools.cache
def _config() -> Any:
    # inscriptis (with lxml, about 8 MB) is imported at the first HTML message, not when
    # the worker starts: most sessions read plain text only, or nothing at all.
    from inscriptis.model.config import ParserConfig

    return ParserConfig(display_links=True, display_images=False)
