"""The Pipes messages of a script run, read from a temp file one whole line at a time.

Dagster's file reader (`PipesFileMessageReader`, 1.13) tails the file with readline() while the script appends
to it and parses whatever it gets. A message that crosses a page boundary can be seen before its end is copied
in: that half line fails to parse, the reader thread stops, and every later message of the session is lost, so
a range's later windows report no row counts and the run fails. A message written after the reader's last empty
read but before the session closes is lost too. This reader keeps a partial line until its newline arrives and
reads the file once more after the session closes (docs/architecture.md §4).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_pipes import PipesDefaultMessageWriter, PipesParams

POLL_SECONDS = 0.01


def script_client() -> dg.PipesSubprocessClient:
    """The Pipes client the transform runs its scripts with: Dagster's, reading messages with WholeLineMessageReader."""
    return dg.PipesSubprocessClient(message_reader=WholeLineMessageReader())


class WholeLineMessageReader(dg.PipesMessageReader):
    """Reads the messages a Pipes process appends to a temp file, each once its whole line is there."""

    def __init__(self, include_stdio_in_messages: bool = False):
        self.include_stdio_in_messages = include_stdio_in_messages

    @contextmanager
    def read_messages(self, handler) -> Iterator[PipesParams]:
        with tempfile.TemporaryDirectory(prefix="pipes-") as folder:
            path = os.path.join(folder, "messages")
            open(path, "w", encoding="utf-8").close()
            closed = threading.Event()
            reader = threading.Thread(target=self._read, args=(path, handler, closed.is_set), daemon=True)
            reader.start()
            try:
                yield {
                    PipesDefaultMessageWriter.FILE_PATH_KEY: path,
                    PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: self.include_stdio_in_messages,
                }
            finally:
                closed.set()
                reader.join()

    def _read(self, path: str, handler, closed: Callable[[], bool]) -> None:
        try:
            for line in whole_lines(path, closed):
                handler.handle_message(json.loads(line))
        except Exception:
            handler.report_pipes_framework_exception(f"{type(self).__name__} reader thread", sys.exc_info())
            raise

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a temp file the script appends to."


def whole_lines(path: str, closed: Callable[[], bool]) -> Iterator[str]:
    """Each line appended to `path` once it ends in a newline, until `closed()` and everything before it is read.

    A last line without its newline (a writer killed halfway through it) is no message, and is left out.
    """
    partial = ""
    stopping = False
    with open(path, encoding="utf-8", newline="") as stream:
        while True:
            text = stream.readline()
            if text:
                partial += text
                if partial.endswith("\n"):
                    yield partial
                    partial = ""
            elif stopping:
                return
            elif closed():
                stopping = True  # one more pass reads what was written before the close
            else:
                time.sleep(POLL_SECONDS)
