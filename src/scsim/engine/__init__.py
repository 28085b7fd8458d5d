"""The engine: tables, memory planning, the run loop, tracing one citizen."""

DEFAULT_CHUNK_SIZE = 1 << 16
"""Citizens per kernel call of the run loop (results do not depend on it).  Small enough
that the threads, taking pieces as they finish, end together within one piece (a few
milliseconds); large enough that a call's own cost (about 20 microseconds) is lost in it."""

KERNEL_CHOICES: tuple[str, ...] = ("auto", "universal", "specialised")
"""Which kernel runs a run (``scsim.engine.choice``): a choice of speed only."""
UNIVERSAL_BELOW = 20_000_000
"""``auto`` runs the universal kernel for fewer citizens than this, the specialised one from
there on (``docs/performance.md``, "Which kernel")."""
