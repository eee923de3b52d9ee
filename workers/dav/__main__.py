"""``python -m workers.dav``: serve calendar tools on stdin/stdout."""

from __future__ import annotations

from protocol import calendar as api
from protocol.diagnosis import DiagnoseArgs
from protocol.fingerprint import FreshnessArgs
from protocol.settings import DavSettings
from workers.dav import handlers
from workers.dav.diagnose import diagnose
from workers.runtime import Route, WorkerSpec, run_worker

SPEC: WorkerSpec[DavSettings, handlers.DavState] = WorkerSpec(
    name="dav",
    settings_type=DavSettings,
    open_state=handlers.open_dav_state,
    routes={
        "list_calendars": Route(api.ListCalendarsArgs, handlers.list_calendars),
        "get_calendar_events": Route(api.GetCalendarEventsArgs, handlers.get_calendar_events),
        "search_calendar": Route(api.SearchCalendarArgs, handlers.search_calendar),
        "get_free_busy": Route(api.GetFreeBusyArgs, handlers.get_free_busy),
        "create_event": Route(api.CreateEventArgs, handlers.create_event),
        "update_event": Route(api.UpdateEventArgs, handlers.update_event),
        "delete_event": Route(api.DeleteEventArgs, handlers.delete_event),
        "check_fresh": Route(FreshnessArgs, handlers.check_fresh),
        "diagnose": Route(DiagnoseArgs, diagnose),
    },
    metrics=lambda state: state.pool.metrics(),
    max_concurrency=lambda settings: settings.pool.max_concurrency,
)

if __name__ == "__main__":
    run_worker(SPEC)
