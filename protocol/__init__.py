"""Everything the supervisor and the workers say to each other.

This package is imported by both sides and imports neither: message and tool
Structs, the pipe framing, the error hierarchy, and the shared logging setup.
"""
