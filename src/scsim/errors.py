"""The base of every error scsim raises on purpose.

Each error names what is wrong in one line (``str(exc)``); the command line
prints it and exits with status 2. A caller of the Python API can catch
``scsim.ScsimError`` for all of them, or one of the documented subclasses.
"""

from __future__ import annotations


class ScsimError(Exception):
    """A failure a caller can cause (bad input, an output that cannot be written, a run
    folder that cannot be read, a cluster that cannot be reached); never a bug."""


class InvalidArgument(ScsimError, ValueError):
    """An argument of the Python API of the wrong kind or out of range."""
