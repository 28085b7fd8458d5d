"""Counter-based random numbers keyed by (seed, citizen, purpose, stream, counter)."""
