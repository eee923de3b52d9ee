"""The families: each module holds its tools as the model sees them and its workers.

Adding a family is one module here and one line in each tuple below.
"""

from __future__ import annotations

from supervisor.families.calendar import CALENDAR_TOOLS, DAV_WORKER
from supervisor.families.contacts import CONTACT_TOOLS
from supervisor.families.filters import FILTER_TOOLS, SIEVE_WORKER
from supervisor.families.invitations import INVITATION_TOOLS
from supervisor.families.mail import IMAP_WORKER, MAIL_TOOLS, SMTP_WORKER
from supervisor.families.tasks import TASK_TOOLS
from supervisor.tool_spec import ToolSpec
from supervisor.worker_family import AnyFamily

WORKER_FAMILIES: tuple[AnyFamily, ...] = (IMAP_WORKER, SMTP_WORKER, DAV_WORKER, SIEVE_WORKER)
FAMILY_TOOLS: tuple[ToolSpec, ...] = (
    *MAIL_TOOLS,
    *CALENDAR_TOOLS,
    *INVITATION_TOOLS,
    *CONTACT_TOOLS,
    *TASK_TOOLS,
    *FILTER_TOOLS,
)
