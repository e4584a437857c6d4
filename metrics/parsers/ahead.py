"""Parsing result files ahead, in child processes started before Django loads.

`manage.py ingest_results FILE` spends most of a second importing Django before the command's
first line runs, and the parse needs none of it. So manage.py calls `start(argv)` first: it
forks one child per file (up to the number of CPUs) that parses it while the parent loads
Django and hashes the file. The command then takes the result (`take(path)`) instead of
parsing again. Pure: no Django here, and nothing but the standard library, orjson and the
parsers is imported before the fork.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os

from .errors import ParseError

_started: dict[str, Ahead] = {}


class Ahead:
    """One file being parsed in a child process."""

    def __init__(self, path: str, fmt: str):
        context = multiprocessing.get_context("fork")
        self.path = path
        self._recv, send = context.Pipe(duplex=False)
        self._proc = context.Process(target=_parse_in_child, args=(path, fmt, send), daemon=True)
        self._proc.start()
        send.close()

    def result(self, progress=None):
        """The RunResult, as parse_file would return it; ParseError as it would raise it;
        None if the child could not finish (the caller parses in-process instead)."""
        try:
            while True:
                message = self._recv.recv()
                if message[0] == "progress":
                    if progress is not None:
                        progress(*message[1:])
                elif message[0] == "done":
                    return message[1]
                elif message[0] == "error":
                    raise ParseError(message[1], message[2])
                else:
                    return None
        except (EOFError, OSError):
            return None
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (its result is no longer wanted, or has arrived)."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)
        self._recv.close()


def _parse_in_child(path: str, fmt: str, send) -> None:
    # imported in the child, after the fork: the parent goes on to load Django without it
    from . import parse_file

    def progress(done: int, total: int, lines: int) -> None:
        send.send(("progress", done, total, lines))

    try:
        send.send(("done", parse_file(path, fmt, progress=progress)))
    except ParseError as exc:
        send.send(("error", exc.message, exc.line))
    except BaseException as exc:  # the parent parses the file itself
        send.send(("failed", repr(exc)))
    finally:
        send.close()


def start(argv: list[str]) -> None:
    """Start parsing the files of an `ingest_results` command line (nothing for any other)."""
    if len(argv) < 3 or argv[1] != "ingest_results" or not hasattr(os, "fork"):
        return
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("files", nargs="*")
    parser.add_argument("--format", default="auto")
    try:
        known, _ = parser.parse_known_args(argv[2:])
    except SystemExit:  # the command's own parser will say what is wrong
        return
    fmt = known.format if known.format != "auto" else "auto"
    for path in known.files[: os.cpu_count() or 1]:
        if os.path.isfile(path) and path not in _started:
            _started[path] = Ahead(path, fmt)


def take(path) -> Ahead | None:
    """The parse started ahead for ``path`` (as given on the command line), if any."""
    return _started.pop(os.fspath(path), None)
