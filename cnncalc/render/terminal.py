"""Where the views are printed: a rich console on standard output or error.  In a terminal it
is rich's own (colour, the terminal's width); in a file or a pipe it is 120 columns (or
``$COLUMNS``) and the spaces rich pads each line with are dropped."""

from __future__ import annotations

import os
import sys


class StripTrailing:
    """A text stream that drops the spaces rich pads each line with to the console's width:
    in a file or a pipe they are only noise (a terminal keeps rich's own stream)."""

    def __init__(self, stream):
        self.stream, self.tail = stream, ""

    def write(self, text: str) -> int:
        *lines, self.tail = (self.tail + text).split("\n")
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:  # a print that ended without a newline: written as it is
        if self.tail:
            self.stream.write(self.tail)
            self.tail = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):  # encoding, fileno, …: the stream's own
        return getattr(self.stream, name)


def console(stderr: bool = False):
    """A rich console; 120 columns when the output is not a terminal (files, pipes, tests),
    where the spaces that pad each line are dropped."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(file=stream, soft_wrap=False, highlight=False)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else 120
    return Console(file=StripTrailing(stream), width=width, soft_wrap=False, highlight=False)
