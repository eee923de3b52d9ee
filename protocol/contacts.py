"""The contacts family: address books on the DAV server, read and written over CardDAV.

The DAV worker (``workers/dav``) serves these contracts beside the calendar's: same
server, same pool, same credentials and TLS.
"""

from __future__ import annotations

from typing import Any

from protocol.contract import Contract

CONTACT_CONTRACTS: tuple[Contract[Any, Any], ...] = ()
