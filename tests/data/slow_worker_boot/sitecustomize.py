"""Put on PYTHONPATH by a test: makes every worker process slow to boot, not the supervisor.

It proves the supervisor answers tools/list without waiting for its workers. A worker
waits SLOW_WORKER_BOOT_SECONDS, or, with SLOW_WORKER_BOOT_UNTIL, until that file exists
(at most a minute): then the test decides when the workers may go on.
"""

import os
import sys
import time

if any(arg.startswith("workers.") for arg in sys.orig_argv):
    gate = os.environ.get("SLOW_WORKER_BOOT_UNTIL")
    if gate:
        limit = time.monotonic() + 60
        while not os.path.exists(gate) and time.monotonic() < limit:
            time.sleep(0.01)
    else:
        time.sleep(float(os.environ.get("SLOW_WORKER_BOOT_SECONDS", "4")))
