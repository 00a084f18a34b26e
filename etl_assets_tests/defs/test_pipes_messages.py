"""A script's Pipes messages reach the run whole, even when the reader catches a line half-written."""

import json
import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from etl_assets.defs.pipes_messages import WholeLineMessageReader, whole_lines

FIRST = {"method": "report_custom_message", "params": {"payload": {"window": "2026-11-18", "rows_out": 1}}}
SECOND = {"method": "report_custom_message", "params": {"payload": {"window": "2026-11-19", "rows_out": 0}}}

# a script that appends its first message in two writes with a pause between, as a message crossing a page
# boundary reaches a reader, then a second message whole
HALVES_THEN_WHOLE = textwrap.dedent(
    """
    import json, sys, time
    path, first, second = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(first[:20]); stream.flush()
        time.sleep(0.3)
        stream.write(first[20:] + "\\n"); stream.flush()
        stream.write(second + "\\n")
    """
)


class Collected:
    """A Pipes message handler that keeps what it is given."""

    def __init__(self):
        self.messages, self.errors = [], []

    def handle_message(self, message):
        self.messages.append(message)

    def report_pipes_framework_exception(self, origin, exc_info):
        self.errors.append(exc_info[1])


def _write_from_a_script(path: str) -> None:
    subprocess.run([sys.executable, "-c", HALVES_THEN_WHOLE, path, json.dumps(FIRST), json.dumps(SECOND)], check=True)


def test_a_message_caught_half_written_is_read_once_whole_and_the_next_one_too():
    handler = Collected()
    with WholeLineMessageReader().read_messages(handler) as params:
        _write_from_a_script(params["path"])

    assert handler.messages == [FIRST, SECOND]
    assert handler.errors == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # its reader thread dies
def test_upstream_file_reader_loses_the_messages_after_a_half_written_line(tmp_path):
    # Dagster 1.13's PipesFileMessageReader parses the half line and stops reading; once it reads whole lines,
    # WholeLineMessageReader can go (etl_assets/defs/pipes_messages.py)
    handler = Collected()
    with dg.PipesFileMessageReader(str(tmp_path / "messages")).read_messages(handler) as params:
        _write_from_a_script(params["path"])

    assert handler.messages != [FIRST, SECOND]
    assert any(isinstance(error, json.JSONDecodeError) for error in handler.errors)


def test_lines_written_before_the_close_are_all_read_and_a_cut_last_line_is_not(tmp_path):
    path = tmp_path / "messages"
    path.write_text(json.dumps(FIRST) + "\n" + json.dumps(SECOND) + "\n" + '{"method": "cut', encoding="utf-8")

    # closed before the reader's first look: what was written before the close is still read
    assert [json.loads(line) for line in whole_lines(str(path), lambda: True)] == [FIRST, SECOND]
