"""``python -m workers.dav``: serve calendar tools on stdin/stdout."""

from __future__ import annotations

from protocol import calendar as api
from protocol.contract import routes_for
from protocol.settings import DavSettings
from workers.dav import handlers, write_tools
from workers.dav.diagnose import diagnose
from workers.runtime import WorkerSpec, run_worker

SPEC: WorkerSpec[DavSettings, handlers.DavState] = WorkerSpec(
    name=api.DAV,
    settings_type=DavSettings,
    open_state=handlers.open_dav_state,
    routes=routes_for(
        api.DAV,
        api.CALENDAR_CONTRACTS,
        {
            api.LIST_CALENDARS: handlers.list_calendars,
            api.GET_CALENDAR_EVENTS: handlers.get_calendar_events,
            api.SEARCH_CALENDAR: handlers.search_calendar,
            api.GET_FREE_BUSY: handlers.get_free_busy,
            api.CREATE_EVENT: write_tools.create_event,
            api.UPDATE_EVENT: write_tools.update_event,
            api.DELETE_EVENT: write_tools.delete_event,
            api.DAV_CHECK_FRESH: handlers.check_fresh,
            api.DAV_DIAGNOSE: diagnose,
        },
    ),
    metrics=lambda state: state.pool.metrics(),
    max_concurrency=lambda settings: settings.pool.max_concurrency,
)

if __name__ == "__main__":
    run_worker(SPEC)
