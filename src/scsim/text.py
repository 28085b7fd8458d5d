"""Text someone else wrote: control characters are shown, never obeyed.

A scenario's name, a run folder's path or a cell of a query result may come
from someone else. Printed raw, an ESC sequence in it can set the terminal's
title, clear the screen or hide the lines around it, and a bidirectional
override can make a line read as something it is not. Scenario files may not
hold such characters in their text (``unsafe_character``), and everything the
command line prints shows them as visible escapes (``printable``; the
consoles of ``scsim.terminal``).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (but tab and newline), DEL and C1 controls
    "\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks, embeddings, overrides
    "\u2028\u2029]"  # line and paragraph separators
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would obey shown as an escape (``\\x1b``)."""
    return _UNSAFE.sub(_escape, text)


def unsafe_character(text: str, allow_newlines: bool = False) -> str | None:
    """The first control (or bidirectional) character of ``text``, escaped, or None. Tabs
    are allowed; newlines only where ``allow_newlines``."""
    match = _UNSAFE.search(text)
    if match is not None:
        return _escape(match)
    if not allow_newlines and "\n" in text:
        return "\\n"
    return None


def known_names(names: list[str], shown: int = 12) -> str:
    """Names for an error message: all of a short list, the first few of a long one."""
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f", ... ({len(names)} in all)"
