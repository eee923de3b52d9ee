"""After one refused login, a worker tries no more logins until it is restarted.

Providers lock an account after a handful of failed logins (mailbox.org among
them), so a model calling tools in a loop must not turn one wrong app password
into a locked account. The supervisor restarts the worker when the password
command gives a different password.
"""

from __future__ import annotations

from protocol.errors import AuthFailed

_PAUSED = (
    " No further {protocol} logins are tried with this password, so the account is not "
    "locked: fix the password (a password command's new output is picked up on a later "
    "call; a password in the configuration needs Claude Desktop restarted)."
)


class LoginGate:
    """Remembers a refused login and refuses every later attempt with the same sentence."""

    def __init__(self, protocol: str) -> None:
        self._protocol = protocol
        self.refused: AuthFailed | None = None
        self.attempts_blocked = 0

    def check(self) -> None:
        """Raises the remembered AuthFailed instead of trying to log in again."""
        if self.refused is not None:
            self.attempts_blocked += 1
            raise self.refused

    def record(self, exc: AuthFailed) -> AuthFailed:
        """Remember a refused login; returns the error to raise (with the pause explained)."""
        if self.refused is None:
            self.refused = AuthFailed(exc.message + _PAUSED.format(protocol=self._protocol))
        return self.refused

    def metrics(self) -> dict[str, int]:
        return {
            "login_refused": int(self.refused is not None),
            "logins_not_tried": self.attempts_blocked,
        }
