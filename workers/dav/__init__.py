"""The CalDAV worker: calendars, events, free/busy over a pool of HTTP sessions."""
