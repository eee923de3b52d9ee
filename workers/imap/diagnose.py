"""The IMAP part of ``--diagnose``: each step timed, stopping at the first failure."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import anyio

from protocol.diagnosis import Check, DiagnoseArgs, DiagnoseResult
from protocol.errors import MailError
from protocol.settings import ImapSettings
from workers.imap import folders
from workers.imap.connect import open_client
from workers.imap.errors import translate
from workers.imap.pool import ImapConnection
from workers.runtime import CallContext
from workers.tls import client_tls_context

INTERESTING = (
    "IMAP4REV1",
    "IMAP4REV2",
    "SPECIAL-USE",
    "LIST-STATUS",
    "MOVE",
    "UIDPLUS",
    "CONDSTORE",
    "QRESYNC",
    "SORT",
    "THREAD=REFERENCES",
    "ESEARCH",
    "PREVIEW",
)


async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    settings: ImapSettings = state.settings
    return DiagnoseResult(await anyio.to_thread.run_sync(_run_checks, settings))


def _run_checks(settings: ImapSettings) -> list[Check]:
    checks: list[Check] = []
    host, port = settings.host, settings.port
    timeout = settings.pool.connect_timeout

    def step(name: str, fn: Callable[[], str]) -> bool:
        start = time.perf_counter()
        try:
            detail = fn()
            ok = True
        except MailError as exc:
            detail, ok = exc.message, False
        except (OSError, EOFError) as exc:
            detail, ok = translate(exc, host, port, settings.username).message, False
        checks.append(Check(name, ok, detail, round(time.perf_counter() - start, 4)))
        return ok

    def resolve() -> str:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return f"{host} is {infos[0][4][0]}"

    def tls_handshake() -> str:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            context = client_tls_context(settings.ca_file)
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return _describe_tls(tls)

    client: list[Any] = []

    def login() -> str:
        client.append(open_client(settings))
        return f"logged in as {settings.username}"

    def capabilities() -> str:
        conn = ImapConnection(client[0], time.monotonic())
        have = [c for c in INTERESTING if conn.has(c)]
        return "server offers " + (", ".join(have) or "none of the extensions we use")

    def folder_count() -> str:
        conn = ImapConnection(client[0], time.monotonic())
        found = folders.to_folders(folders.list_folders(conn))
        roles = sorted({f.role for f in found if f.role})
        return f"{len(found)} folders; special folders found: {', '.join(roles) or 'none'}"

    try:
        for name, fn in (
            ("imap dns", resolve),
            ("imap tls", tls_handshake),
            ("imap login", login),
            ("imap capabilities", capabilities),
            ("imap folders", folder_count),
        ):
            if not step(name, fn):
                break
    finally:
        if client:
            try:
                client[0].logout()
            except Exception:
                client[0].shutdown()
    return checks


def _describe_tls(tls: ssl.SSLSocket) -> str:
    cert: dict[str, Any] = dict(tls.getpeercert() or {})
    subject = {key: value for rdn in cert.get("subject", ()) for key, value in rdn}
    alt_names = [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"]
    name = subject.get("commonName") or (alt_names[0] if alt_names else "?")
    expires = cert.get("notAfter", "?")
    return f"{tls.version()}, certificate for {name}, valid until {expires}"
