"""VTODO handlers of the DAV worker: task lists and tasks."""

from __future__ import annotations
