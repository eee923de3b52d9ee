"""Put on PYTHONPATH by a test: makes every worker process slow to boot, not the supervisor.

It proves the supervisor answers tools/list without waiting for its workers.
"""

import sys
import time

if any(arg.startswith("workers.") for arg in sys.orig_argv):
    time.sleep(float(__import__("os").environ.get("SLOW_WORKER_BOOT_SECONDS", "4")))
