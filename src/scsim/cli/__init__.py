"""The ``scsim`` command line.

Bad input of any kind ends with one line per problem on stderr and exit
status 2, never a traceback, and never a half-written output folder.  One
module per group of commands; importing them registers the commands on
``app``.
"""

# importing the command modules registers their commands, in this order
from scsim.cli import running, tracing, views, tools, experiments, fitting, dashboard  # noqa: F401, I001
from scsim.cli.common import app

__all__ = ["app"]
