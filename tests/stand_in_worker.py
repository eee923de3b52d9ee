"""A stand-in worker for tests of the supervisor's side of the pipe.

``python -m tests.stand_in_worker <behaviour>`` (from the repository root) speaks
the real frames (protocol.framing, protocol.messages) on stdin and stdout:

- ``ready``: answers Ready, then each Ping with its Pong, until Shutdown or EOF
- ``stale-pongs``: answers Ready, then each Ping with the id of the Ping before it
- ``refuse-login``: answers the settings with an AuthFailed, then exits
- ``bad-setting``: answers the settings with a ConfigError, then exits
- ``unreachable``: answers the settings with an Unavailable, then exits
"""

from __future__ import annotations

import os
import sys

import msgspec

from protocol.framing import encode_frame
from protocol.messages import Configure, Failure, FromWorker, Ping, Pong, Ready, ToWorker

_DECODER: msgspec.msgpack.Decoder[ToWorker] = msgspec.msgpack.Decoder(ToWorker)  # type: ignore[arg-type]

BOOT_FAILURES = {
    "refuse-login": (
        "auth_failed",
        "The IMAP server refused the login for a@b.example; check the app password.",
    ),
    "bad-setting": ("config", "MAILBOX_CA_FILE is not a certificate file; fix it and restart."),
    "unreachable": ("unavailable", "The IMAP server localhost:1 refused the connection."),
}


def receive() -> ToWorker | None:
    header = sys.stdin.buffer.read(4)
    if len(header) < 4:
        return None
    payload = sys.stdin.buffer.read(int.from_bytes(header, "big"))
    return _DECODER.decode(payload)


def send(message: FromWorker) -> None:
    sys.stdout.buffer.write(encode_frame(msgspec.msgpack.encode(message)))
    sys.stdout.buffer.flush()


def main(behaviour: str) -> None:
    if not isinstance(receive(), Configure):
        return
    if behaviour in BOOT_FAILURES:
        kind, message = BOOT_FAILURES[behaviour]
        send(Failure(0, kind, message))
        return
    send(Ready(os.getpid()))
    while isinstance(message := receive(), Ping):
        answered = message.id - 1 if behaviour == "stale-pongs" else message.id
        send(Pong(answered, {"rss_bytes": 1, "answered": answered}))


if __name__ == "__main__":
    main(sys.argv[1])
