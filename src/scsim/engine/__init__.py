"""The engine: tables, memory planning, the run loop, tracing one citizen."""

DEFAULT_CHUNK_SIZE = 1 << 16
"""Citizens per kernel call of the run loop (results do not depend on it).  Small enough
that the threads, taking pieces as they finish, end together within one piece (a few
milliseconds); large enough that a call's own cost (about 20 microseconds) is lost in it."""
