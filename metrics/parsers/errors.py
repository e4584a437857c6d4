"""The one exception type every parser raises for bad input."""

from __future__ import annotations


class ParseError(Exception):
    """A file that cannot be read as a load-test result.

    `line` is the 1-based line number the problem was found on (None when the problem is not
    tied to one line, e.g. a truncated gzip stream or an empty file); `message` is a plain-words
    explanation meant for the person who uploaded the file. `str(e)` is "line N: message" or just
    the message.
    """

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}: {self.message}"

    def __reduce__(self):  # keep pickling (Celery results) working with two arguments
        return (type(self), (self.message, self.line))
