"""``python3 -m supervisor.quickstart sandbox|test``: from a fresh clone to a running
sandbox, or to the test suite, in one command each.

Standard library only, so it runs before anything is installed, and with the
Python 3.8+ syntax an older ``python3`` can still read (it then says what it
needs). Each step says what it does:

1. a virtual environment in ``.venv`` (Debian and Ubuntu need python3-venv for it),
2. this checkout with its ``sandbox`` extra into it (and tox, for the tests),
3. Dovecot from the system's packages: apt-get as root, through sudo in a
   terminal, or else the exact line to run,

then it starts the sandbox in this terminal (which prints the Claude Desktop
entry for it), or runs tox with any further arguments (``test -e quick``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

MIN_PYTHON = (3, 11)
# IMAP, LMTP delivery (the SMTP relay delivers through it), Sieve and ManageSieve (filters).
DOVECOT_PACKAGES = ("dovecot-imapd", "dovecot-lmtpd", "dovecot-sieve", "dovecot-managesieved")
NODE_PACKAGES = ("nodejs", "npm")
REPO = Path(__file__).resolve().parent.parent
# As the README says; measured on two cores.
SUITE_TIME = "about 10 minutes"
USAGE = "usage: python3 -m supervisor.quickstart sandbox | test [tox arguments, e.g. -e quick]"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("sandbox", "test"):
        sys.stderr.write(USAGE + "\n")
        return 2
    what, rest = args[0], args[1:]
    if what == "sandbox" and rest:
        sys.stderr.write(f"quickstart: 'sandbox' takes no arguments ({' '.join(rest)}); {USAGE}\n")
        return 2
    if not (REPO / "pyproject.toml").is_file():
        sys.stderr.write(f"quickstart: run this in a clone of the repository ({REPO} is not).\n")
        return 2
    venv = REPO / ".venv"
    python = ensure_venv(venv)
    if python is None:
        return 1
    if not install(python, venv, with_tox=what == "test"):
        return 1
    has_dovecot = ensure_packages("Dovecot", DOVECOT_PACKAGES, dovecot_installed, needed=what)
    if what == "sandbox":
        command = [str(script(venv, "mailbox-mcp-server")), "--sandbox"]
        step("Starting the sandbox: " + " ".join(command))
        return subprocess.call(command, cwd=REPO)
    if not has_dovecot:
        return 1
    ensure_packages("Node (npx)", NODE_PACKAGES, lambda: shutil.which("npx") is not None)
    tox = [str(script(venv, "tox")), *rest]
    if rest:
        step("Running " + " ".join(["tox", *rest]))
    else:
        step(
            f"Running the whole test suite with tox ({SUITE_TIME} on two cores, then "
            "ruff and mypy); 'python3 -m supervisor.quickstart test -e quick' runs a subset "
            "in under two minutes"
        )
    return subprocess.call(tox, cwd=REPO)


# -- steps ------------------------------------------------------------------------------


def step(text: str) -> None:
    sys.stdout.write(f"==> {text}\n")
    sys.stdout.flush()


def script(venv: Path, name: str) -> Path:
    """A command installed in ``venv``."""
    if os.name == "nt":
        return venv / "Scripts" / f"{name}.exe"
    return venv / "bin" / name


def ensure_venv(venv: Path) -> Path | None:
    """The Python of ``venv``, made if missing; None (having said why) if it cannot be."""
    python = script(venv, "python")
    if python.exists() and _usable(python):
        step(f"Using the virtual environment {venv}")
        return python
    if sys.version_info < MIN_PYTHON:
        sys.stderr.write(
            f"quickstart: the server needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer, and "
            f"python3 here is {sys.version_info[0]}.{sys.version_info[1]}. Install a newer "
            "Python and run this with it, or let uv bring one: uv venv --python 3.12 .venv, "
            "then run this command again.\n"
        )
        return None
    step(f"Creating a virtual environment in {venv}")
    made = _make_venv(venv)
    if made.returncode != 0 and "ensurepip" in made.stdout + made.stderr:
        # Debian and Ubuntu ship venv without pip unless python3-venv is installed.
        shutil.rmtree(venv, ignore_errors=True)
        if ensure_packages("python3-venv", ("python3-venv",), _has_ensurepip):
            made = _make_venv(venv)
    if made.returncode != 0:
        sys.stderr.write(made.stdout + made.stderr)
        sys.stderr.write(f"quickstart: could not create {venv}.\n")
        return None
    return python


def _make_venv(venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )


def _has_ensurepip() -> bool:
    check = subprocess.run([sys.executable, "-c", "import ensurepip"], capture_output=True)
    return check.returncode == 0


def _usable(python: Path) -> bool:
    check = f"import sys; sys.exit(sys.version_info < {MIN_PYTHON})"
    return subprocess.run([str(python), "-c", check], check=False).returncode == 0


def install(python: Path, venv: Path, with_tox: bool) -> bool:
    """This checkout (editable, so a pull takes effect) with the sandbox extra, and tox.

    Each is skipped when it was installed before with the same pyproject.toml."""
    wanted = {f"--editable={REPO}[sandbox]": "the package with its sandbox extra"}
    if with_tox:
        wanted["tox>=4.22"] = "tox"
    stamp = venv / "quickstart-installed"
    fingerprint = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    done = stamp.read_text().split() if stamp.exists() else []
    todo = [w for w in wanted if f"{fingerprint}:{w}" not in done]
    if not todo:
        step(f"Installed already: {' and '.join(wanted.values())}")
        return True
    step(
        f"Installing {' and '.join(wanted[w] for w in todo)} into .venv "
        "(a minute or two the first time)"
    )
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.call([*pip, *todo]) != 0:
        step("pip could not install it; its message is above")
        return False
    stamp.write_text("\n".join(done + [f"{fingerprint}:{w}" for w in todo]) + "\n")
    return True


def dovecot_installed() -> bool:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        return False
    # Debian's LMTP and ManageSieve come in packages of their own.
    libexec = Path("/usr/lib/dovecot")
    return not libexec.is_dir() or all(
        (libexec / part).exists() for part in ("lmtp", "managesieve")
    )


def ensure_packages(
    what: str, packages: Sequence[str], present: Callable[[], bool], needed: str = ""
) -> bool:
    """Install system ``packages`` if ``present()`` says they are missing; True when
    they are there at the end. ``needed``: what for (said when they stay missing)."""
    if present():
        step(f"{what} is installed")
        return True
    plan = install_plan(
        packages,
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        has_apt=sys.platform.startswith("linux") and shutil.which("apt-get") is not None,
        has_sudo=shutil.which("sudo") is not None,
        interactive=sys.stdin is not None and sys.stdin.isatty(),
    )
    if not plan.commands:
        step(f"{what} is not installed. {plan.advice}")
        _say_what_is_missing(what, needed)
        return False
    step(f"Installing {what}: {plan.line}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in plan.commands:
        if subprocess.call(command, env=env) != 0:
            step(f"Installing {what} failed; run it yourself: {plan.line}")
            _say_what_is_missing(what, needed)
            return False
    return present()


def _say_what_is_missing(what: str, needed: str) -> None:
    if what == "Dovecot" and needed == "sandbox":
        step(
            "The sandbox starts without it: its calendar works, its mail tools say Dovecot is missing"
        )
    elif what == "Dovecot" and needed == "test":
        step("The tests need Dovecot: they run against a real one")
    elif what.startswith("Node"):
        step("Without it the MCP Inspector test is skipped (and fails on CI)")


class InstallPlan:
    """What to run to install system packages, or (no commands) what to tell the user."""

    def __init__(self, commands: list[list[str]], line: str, advice: str = "") -> None:
        self.commands = commands
        self.line = line
        self.advice = advice


def install_plan(
    packages: Sequence[str], *, is_root: bool, has_apt: bool, has_sudo: bool, interactive: bool
) -> InstallPlan:
    """apt-get as root; through sudo when a person can answer its password prompt;
    otherwise no commands, only the line to run (or, without apt-get, what to install)."""
    if not has_apt:
        if sys.platform == "darwin":
            advice = (
                "On macOS it is not installed for you: the sandbox runs with its calendar "
                "only, and the tests need Dovecot 2.3 with LMTP as Debian and Ubuntu package "
                "it (run them there, in a container or a virtual machine)."
            )
        else:
            advice = f"Install it from your system's packages (Debian: {' '.join(packages)})."
        return InstallPlan([], "", advice)
    install = ["apt-get", "install", "-y", "-q", *packages]
    update = ["apt-get", "update", "-q"]
    line = ("" if is_root else "sudo ") + "apt-get install " + " ".join(packages)
    if is_root:
        return InstallPlan([update, install], line)
    if has_sudo and interactive:
        return InstallPlan([["sudo", *update], ["sudo", *install]], line)
    return InstallPlan([], line, f"Install it with: {line}")


def dovecot_install_line() -> str:
    """How to install Dovecot here, as one line for a sentence."""
    plan = install_plan(
        DOVECOT_PACKAGES,
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        has_apt=sys.platform.startswith("linux") and shutil.which("apt-get") is not None,
        has_sudo=True,
        interactive=False,
    )
    if plan.line:
        return plan.line
    return (
        "install Dovecot 2.3 with IMAP, LMTP and Pigeonhole's Sieve "
        f"(Debian: {' '.join(DOVECOT_PACKAGES)})"
    )


if __name__ == "__main__":
    sys.exit(main())
