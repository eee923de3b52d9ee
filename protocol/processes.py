"""Whether a process still runs, for the files and folders named after their owner.

The supervisor's sandbox and the workers both leave things on disk that only the
process that made them may delete while it lives (sandbox folders, half-written
downloads); whoever finds them later asks this before removing them.
"""

from __future__ import annotations

import os
import sys


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on Windows, where signal 0 would kill it: assumed so)."""
    if sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
