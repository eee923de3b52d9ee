"""CardDAV handlers of the DAV worker: address books and contacts."""

from __future__ import annotations
