"""The ManageSieve part of ``--diagnose``: STARTTLS, one login, the scripts; nothing changes."""

from __future__ import annotations

from typing import Any

from protocol import filters as api
from protocol.diagnosis import DiagnoseArgs, DiagnoseResult
from protocol.errors import AuthFailed, ProtocolViolation, ServerTimeout
from workers.diagnostics import (
    Checklist,
    Endpoint,
    Failed,
    login_refused,
    plural,
    reach,
    unexpected,
)
from workers.runtime import CallContext, serves
from workers.sieve.client import SieveClient, SieveEndpoint, connect

HOST_HINT = "MAILBOX_SIEVE_HOST (imap.mailbox.org for mailbox.org)"
PORT_HINT = "MAILBOX_SIEVE_PORT (4190, the ManageSieve port)"


@serves(api.SIEVE_DIAGNOSE)
async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    settings: api.SieveSettings = state.settings
    end = Endpoint(
        settings.host,
        settings.port,
        HOST_HINT,
        PORT_HINT,
        settings.ca_file,
        settings.pool.connect_timeout,
    )
    checks = Checklist(api.SIEVE_CHECKS, _explain)
    opened: list[SieveClient] = []
    refused: list[AuthFailed] = []

    async def tls() -> str:
        # STARTTLS and the login are one step of the client: a refused login still
        # proves TLS worked, and is reported by the login check.
        try:
            opened.append(await connect(SieveEndpoint.of(settings)))
        except AuthFailed as exc:
            refused.append(exc)
        return f"STARTTLS to {end.where}, certificate verified"

    async def login() -> str:
        if refused:
            raise login_refused(settings.host, settings.username)
        return f"logged in as {settings.username} ({opened[0].capabilities.implementation})"

    async def scripts() -> str:
        client = opened[0]
        listed = await client.list_scripts()
        active = next((s.name for s in listed if s.active), None)
        extensions = ", ".join(sorted(client.capabilities.sieve)) or "none named"
        which = f"'{active}' is active" if active else "none is active"
        return f"{plural(len(listed), 'script')}, {which}; Sieve extensions: {extensions}"

    await reach(checks, "sieve", end, tls=False)
    try:
        await checks.steps(("sieve tls", tls), ("sieve login", login), ("sieve scripts", scripts))
    finally:
        for client in opened:
            await client.aclose()
    return checks.result()


def _explain(exc: BaseException) -> Failed:
    """Garbled or no answers where a ManageSieve greeting belongs mean another service (or
    a TLS-only port) listens there: the port setting is what to check."""
    if isinstance(exc, ProtocolViolation | ServerTimeout):
        return Failed(
            exc.message.rstrip("."),
            f"Check {PORT_HINT}: the server there does not speak ManageSieve.",
        )
    return unexpected(exc)
