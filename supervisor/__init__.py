"""The front process: MCP over stdio, validation, cache, and the worker processes."""

__version__ = "0.1.0"
