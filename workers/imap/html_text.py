"""HTML mail to readable text, links kept, nothing fetched (inscriptis, Apache-2.0)."""

from __future__ import annotations

import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_CONFIG = ParserConfig(display_links=True, display_images=False)
_SCRIPTS = re.compile(rb"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANK_RUNS = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """The visible text of ``html``; scripts, styles and images (tracking pixels) dropped.

    Raises ValueError when the document cannot be parsed at all.
    """
    cleaned = _SCRIPTS.sub(b"", html.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")
    try:
        text = get_text(cleaned, _CONFIG)
    except (RecursionError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"the HTML could not be read ({type(exc).__name__})") from exc
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
