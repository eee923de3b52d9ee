"""``python -m workers.dav``: serve calendar, contact and task tools on stdin/stdout."""

from __future__ import annotations

from protocol import calendar as api
from protocol.contacts import CONTACT_CONTRACTS
from protocol.invitations import INVITATION_CONTRACTS
from protocol.settings import DavSettings
from protocol.tasks import TASK_CONTRACTS
from workers.dav import contacts, diagnose, handlers, invitations, tasks, write_tools
from workers.runtime import pool_worker, run_worker

SPEC = pool_worker(
    api.DAV,
    DavSettings,
    handlers.open_dav_state,
    (*api.CALENDAR_CONTRACTS, *CONTACT_CONTRACTS, *TASK_CONTRACTS, *INVITATION_CONTRACTS),
    handlers,
    write_tools,
    diagnose,
    contacts,
    tasks,
    invitations,
)

if __name__ == "__main__":
    run_worker(SPEC)
