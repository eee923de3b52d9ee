"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.dav import (
    SERVER_TYPES,
    DavAccount,
    DavServer,
    RadicaleServer,
    XandikosServer,
)

__all__ = ["SERVER_TYPES", "DavAccount", "DavServer", "RadicaleServer", "XandikosServer"]
