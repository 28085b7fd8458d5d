"""Consoles that show control characters instead of obeying them (see ``scsim.text``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.segment import Segment

from scsim.text import printable


class SafeConsole(Console):
    """A Rich console that escapes control characters in what it prints, but not in its own
    control codes (styles, and the cursor movements of a live progress bar)."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(printable(segment.text), segment.style)
            for segment in buffer)


class EscapingStream:
    """A text stream that escapes control characters in what is written to it: stderr while
    a command runs, so that even messages scsim does not print itself (click's usage errors,
    which repeat what was typed) show them rather than obey them."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ...
        return getattr(self._stream, name)
