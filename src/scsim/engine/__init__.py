"""The engine: tables, memory planning, the run loop, tracing one citizen."""

DEFAULT_CHUNK_SIZE = 1 << 16
"""Citizens per kernel call of the run loop (results do not depend on it).  Small enough
that the threads, taking pieces as they finish, end together within one piece (a few
milliseconds); large enough that a call's own cost (about 20 microseconds) is lost in it."""

KERNEL_CHOICES: tuple[str, ...] = ("auto", "universal", "specialised")
"""Which kernel runs a run (``scsim.engine.choice``): a choice of speed only."""
UNIVERSAL_BELOW = 400_000_000
"""``auto`` runs the universal kernel for fewer citizens than this, the specialised one from
there on: about where one run of a specialised kernel takes as long as its compile (R0: a
minute's compile, 1.4 s per 1e7 citizens; national: 100 s and 0.8 s; ``docs/performance.md``,
"Which kernel")."""
