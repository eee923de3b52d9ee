"""Signed and encrypted mail (S/MIME, OpenPGP): recognised from the structure, not verified.

Signatures are reported so the reader knows the message claims one; checking it
needs the sender's certificate or key, which this server does not manage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workers.imap.structure import Part

_SMIME_SIGNATURES = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_SMIME_CONTAINERS = ("application/pkcs7-mime", "application/x-pkcs7-mime")


@dataclass(frozen=True)
class Security:
    signed: Literal["S/MIME", "OpenPGP"] | None
    encrypted: bool
    opaque: bool  # signed, with the text inside the signature blob


def is_signature(part: Part) -> bool:
    """A detached signature part: technical, not an attachment for the reader."""
    return part.content_type in (*_SMIME_SIGNATURES, "application/pgp-signature")


def security_of(parts: list[Part], body: str) -> Security:
    types = {p.content_type for p in parts}
    smime_kinds = {
        p.params.get("smime-type", "").lower() for p in parts if p.content_type in _SMIME_CONTAINERS
    }
    encrypted = (
        "application/pgp-encrypted" in types
        or "enveloped-data" in smime_kinds
        or "authenveloped-data" in smime_kinds
        or body.lstrip().startswith("-----BEGIN PGP MESSAGE-----")
    )
    opaque = "signed-data" in smime_kinds
    signed: Literal["S/MIME", "OpenPGP"] | None = None
    if opaque or types & set(_SMIME_SIGNATURES):
        signed = "S/MIME"
    elif "application/pgp-signature" in types or body.lstrip().startswith(
        "-----BEGIN PGP SIGNED MESSAGE-----"
    ):
        signed = "OpenPGP"
    return Security(signed, encrypted, opaque)
