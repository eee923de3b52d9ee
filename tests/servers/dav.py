"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.dav import (
    SERVER_TYPES,
    DavAccount,
    DavServer,
    RadicaleServer,
    XandikosServer,
)

__all__ = ["SERVER_TYPES", "DavAccount", "DavServer", "RadicaleServer", "XandikosServer", "kill"]


def kill(server: DavServer) -> None:
    """Stop ``server`` at once and delete its files: for one a test keeps busy on purpose,
    which ``cleanup`` would give its whole grace (10 s) to finish that work first."""
    process = server._process
    if process is not None:
        process.kill()
        process.wait()
        server._process = None
    server.cleanup()
