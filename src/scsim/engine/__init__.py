"""The engine: tables, memory planning, the run loop, tracing one citizen."""

DEFAULT_CHUNK_SIZE = 1 << 20
"""Citizens per chunk of the run loop (results do not depend on it)."""
