"""Delimited text split into records block by block, quote-aware, so one bad line never takes other lines with it.

Most lines are whole records: a vectorised test finds them and Arrow parses them in one pass, on a worker thread
while the reader splits the next block, so the two use both cores. Only the others
(quoted fields over several lines, stray or broken quotes, very long lines) are walked in Python, one record at a
time. A quote that never closes, or closes before something other than a delimiter, makes its first line a reject
and the lines after it are read again as records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.errors import IngestError
from etl_assets.ingest.model import Reject

MAX_FIELD_BYTES = 16 * 1024 * 1024  # the most a Snowflake VARCHAR holds
# the records _well_formed looks at first to tell a file that quotes every value from one that quotes a few
DENSITY_PROBE = 1_000
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
MAX_RAW_CHARACTERS = 65536  # a reject keeps this much of its text; the archived file keeps all of it
MIN_ARROW_BLOCK = 4 * 1024 * 1024
# How many records one vectorised step checks: small again after a record that needed walking, so a file full of
# stray quotes does not re-check long stretches, doubling while records come out well-formed.
FIRST_BATCH, MAX_BATCH = 64, 65536
NEWLINE_SAMPLE = 1024 * 1024
# The body of a quoted field up to its closing quote; possessive, so `""` is never split to end the field early.
QUOTED_TEXT = re.compile(r'[^"]*+(?:""[^"]*+)*+')
QUOTED_FIELD_RE2 = r'"(?:[^"]|"")*"'
# Arrow parses a block on a worker thread (its kernels release the GIL) while the reader splits the next one.
PARSES_AHEAD = 1

TextSource = Callable[[], Iterator[str]]


@dataclass(frozen=True)
class DelimitedRead:
    """The header, the rows (columns f0..fN then `_source_row`), the rejects, and how many rows were padded."""

    header: list[str]
    table: pa.Table
    rejects: list[Reject]
    short_rows: int


def read_delimited(open_text: TextSource, delimiter: str | None, original_name: str) -> DelimitedRead:
    """Read delimited text; `open_text` is called again only to re-read after a broken quote too long to keep."""
    reader = DelimitedReader(open_text, delimiter, original_name)
    return reader.result(list(reader.batches()))


class _RecordScanner:
    """One record read field by field, over as many lines as its quoted fields span."""

    def __init__(self, first_line: int, delimiter: str, newline: str) -> None:
        self.first_line = first_line
        self.delimiter = delimiter
        self.newline = newline
        self.fields: list[str] = []
        self.lines: list[str] | None = []  # kept to read them again when the record turns out broken
        self.first_text: str | None = None
        self.in_quotes = False
        self.parts: list[str] = []
        self.region_bytes = 0
        self.too_long = False
        self.problem: str | None = None

    def feed(self, line: str) -> bool:
        """Take the record's next line; True once the record is complete or known to be broken."""
        if self.lines is not None:
            self.lines.append(line)
        if self.first_text is None:
            self.first_text = line[:MAX_RAW_CHARACTERS]
        position = 0
        if self.in_quotes:
            self._add(self.newline)
            position = self._close_quote(line, 0)
            if position < 0:
                return False
        return self._fields(line, position)

    def end_of_file(self) -> None:
        self.problem = "a quoted field starts on this line and never closes"

    def text(self) -> str:
        return self.newline.join(self.lines)[:MAX_RAW_CHARACTERS] if self.lines is not None else self.first_text or ""

    def _fields(self, line: str, position: int) -> bool:
        while True:
            if self.in_quotes:  # a quoted field closed just before `position`
                self._end_quoted_field()
                if position == len(line) or line[position:] == "\r":
                    return True
                if line[position] != self.delimiter:
                    self.problem = f"a closing quote is followed by {line[position]!r} instead of a delimiter"
                    return True
                position += 1
            elif line.startswith('"', position):
                self.in_quotes, self.parts, self.region_bytes = True, [], 0
                position = self._close_quote(line, position + 1)
                if position < 0:
                    return False
            else:
                end = line.find(self.delimiter, position)
                if end < 0:
                    self.fields.append(line[position:].removesuffix("\r"))
                    return True
                self.fields.append(line[position:end])
                position = end + 1

    def _close_quote(self, line: str, start: int) -> int:
        """Just past the quote that closes the field, or -1 when the field goes on past this line."""
        end = QUOTED_TEXT.match(line, start).end()
        self._add(line[start:end])
        return -1 if end == len(line) else end + 1

    def _add(self, piece: str) -> None:
        self.region_bytes += _utf8_length(piece)
        if self.region_bytes > MAX_FIELD_BYTES:
            # Past the limit the field is a reject anyway: keep scanning for its end, but hold nothing of it.
            self.too_long, self.parts, self.lines = True, [], None
        else:
            self.parts.append(piece)

    def _end_quoted_field(self) -> None:
        self.fields.append("".join(self.parts).replace('""', '"'))
        self.in_quotes, self.parts = False, []


class DelimitedReader:
    """Walks the text block by block, giving each block's rows as soon as they are read (in line order), and keeping
    the header, the rejects and a record left open between blocks; `header`, `rejects` and `short_rows` are whole
    once `batches()` is exhausted."""

    def __init__(self, open_text: TextSource, delimiter: str | None, original_name: str) -> None:
        self.open_text = open_text
        self.delimiter = delimiter
        self.original_name = original_name
        self.newline = "\n"
        self.header: list[str] | None = None
        self.header_scanner: _RecordScanner | None = None
        self.pending: _RecordScanner | None = None
        # each block's parse (running on the worker thread) and its walked records, in line order
        self.blocks: list[tuple[Future[_ParsedBlock] | None, pa.Table | None]] = []
        self.parser: ThreadPoolExecutor | None = None
        self.rejects: list[Reject] = []
        self.short_rows = 0

    def batches(self) -> Iterator[pa.Table]:
        """The rows block by block: columns f0..fN then `_source_row`."""
        resume_after: int | None = 0
        try:
            while resume_after is not None:
                resume_after = yield from self._read(resume_after)
                yield from self._take_tables(all_of_them=True)
        finally:
            if self.parser is not None:
                self.parser.shutdown(cancel_futures=True)
                self.parser = None

    def result(self, tables: list[pa.Table]) -> DelimitedRead:
        """The whole read, with `tables` the batches it gave."""
        table = pa.concat_tables(tables) if tables else self.empty_table()
        return DelimitedRead(self.header or [], table, self.sorted_rejects(), self.short_rows)

    def empty_table(self) -> pa.Table:
        names = [f"f{index}" for index in range(len(self.header or []))]
        return pa.schema([(name, pa.string()) for name in names] + [(SOURCE_ROW, pa.int64())]).empty_table()

    def sorted_rejects(self) -> list[Reject]:
        return sorted(self.rejects, key=lambda reject: reject.line)

    def _read(self, skip_lines: int) -> Generator[pa.Table, None, int | None]:
        """Read from line `skip_lines + 1` on; returns the line to resume after when a broken record must be re-read."""
        chunks = self.open_text()
        head = _head(chunks)
        if skip_lines == 0:
            self.newline = "\n" if "\n" in head or "\r" not in head else "\r"
        first = skip_lines + 1
        for lines, at_eof in _line_blocks(head, chunks, self.newline, skip_lines):
            walk: tuple[pa.StringArray, int] | int | None = (lines, first)
            first += len(lines)
            while isinstance(walk, tuple):
                walk = self._walk(*walk, at_eof)
            yield from self._take_tables()
            if isinstance(walk, int):
                return walk
        return None

    def _walk(self, lines: pa.StringArray, first: int, at_eof: bool) -> tuple[pa.StringArray, int] | int | None:
        """Take the lines numbered from `first`; returns lines to walk again, a line to re-read after, or None."""
        index = 0
        if self.pending is None and self.header is None:
            index = self._start_header(lines, first)
            if index is None:
                return None
        if self.pending is not None:
            scanner = self.pending
            index, done = _feed(scanner, lines, index)
            if not done and not at_eof:
                return None
            self.pending = None
            if not done:
                scanner.end_of_file()
            again = self._finish(scanner, lines, index)
            if again is not None:
                return again
        return self._walk_records(lines.slice(index), first + index, at_eof)

    def _start_header(self, lines: pa.StringArray, first: int) -> int | None:
        """Begin the header at the first non-blank line; the index to go on from, or None when all lines are blank."""
        blank = _blank(lines).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(~blank)
        if not len(starts):
            return None
        start = int(starts[0])
        line = lines[start].as_py()
        if self.delimiter is None:
            self.delimiter = max(CANDIDATE_DELIMITERS, key=lambda candidate: (line.count(candidate), candidate == ","))
        self.pending = self.header_scanner = _RecordScanner(first + start, self.delimiter, self.newline)
        return start

    def _finish(self, scanner: _RecordScanner, lines: pa.StringArray, index: int) -> tuple[pa.StringArray, int] | int | None:
        """Keep a completed record; a broken one becomes a reject and its other lines are walked (or read) again."""
        if scanner is self.header_scanner and self.header is None:
            self._keep_header(scanner)
            return None
        if scanner.problem is None:
            self._keep(self._slow_records([scanner]))
            return None
        self.rejects.append(Reject(scanner.first_line, scanner.problem, scanner.first_text or ""))
        if scanner.lines is None:
            return scanner.first_line
        again = pa.concat_arrays([pa.array(scanner.lines[1:], pa.string()), lines.slice(index)])
        return again, scanner.first_line + 1

    def _keep_header(self, scanner: _RecordScanner) -> None:
        if scanner.problem is not None or scanner.too_long:
            reason = scanner.problem or f"a field is longer than {MAX_FIELD_BYTES} bytes"
            raise IngestError(
                f"The header of {self.original_name!r} (line {scanner.first_line}) cannot be read: {reason}; "
                "fix the header line and upload the file again under the same name."
            )
        self.header = scanner.fields

    def _walk_records(self, lines: pa.StringArray, first: int, at_eof: bool) -> None:
        walk = _BlockWalk(lines, first, at_eof, self.delimiter, self.newline)
        records, line_numbers, scanners = walk.run()
        self.rejects.extend(walk.rejects)
        self.pending = walk.pending
        width = len(self.header or [])
        if self.parser is None:
            self.parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-parse")
        fast = self.parser.submit(_parse_fast_records, records, line_numbers, width, self.delimiter, self.original_name)
        self.blocks.append((fast, self._slow_records(scanners)))

    def _keep(self, slow: pa.Table | None) -> None:
        """Queue a record that was walked on its own, after the blocks queued before it."""
        self.blocks.append((None, slow))

    def _take_tables(self, *, all_of_them: bool = False) -> Iterator[pa.Table]:
        """The queued blocks' rows in line order, each once its parse is done; one parse may stay running (unless
        `all_of_them`), so the next block is split while it runs."""
        while self.blocks and (all_of_them or len(self.blocks) > PARSES_AHEAD or self.blocks[0][0] is None or self.blocks[0][0].done()):
            fast, slow = self.blocks.pop(0)
            parsed = fast.result() if fast is not None else _ParsedBlock(None, [], 0)
            self.rejects.extend(parsed.rejects)
            self.short_rows += parsed.short_rows
            tables = [table for table in (parsed.table, slow) if table is not None and table.num_rows]
            if tables:
                combined = pa.concat_tables(tables)
                lines = combined[SOURCE_ROW].to_numpy()
                # a block without walked records is in line order already: sorting would copy every column
                yield combined if (np.diff(lines) > 0).all() else combined.take(pc.sort_indices(combined[SOURCE_ROW]))

    def _slow_records(self, scanners: list[_RecordScanner]) -> pa.Table | None:
        width = len(self.header or [])
        rows, source_rows = [], []
        for scanner in scanners:
            problem = _record_problem(scanner, width)
            if problem:
                self.rejects.append(Reject(scanner.first_line, problem, scanner.text()))
                continue
            self.short_rows += len(scanner.fields) < width
            rows.append(scanner.fields + [""] * (width - len(scanner.fields)))
            source_rows.append(scanner.first_line)
        if not rows:
            return None
        columns = {f"f{index}": pa.array([row[index] or None for row in rows], pa.string()) for index in range(width)}
        return pa.table({**columns, SOURCE_ROW: pa.array(source_rows, pa.int64())})


@dataclass(frozen=True)
class _ParsedBlock:
    """A block's well-formed records parsed: their rows, the records with too many fields, and how many were padded."""

    table: pa.Table | None
    rejects: list[Reject]
    short_rows: int


def _parse_fast_records(records: pa.StringArray, line_numbers: np.ndarray, width: int, delimiter: str, original_name: str) -> _ParsedBlock:
    """Well-formed records: long ones become rejects, short ones get empty fields, and Arrow parses the rest.

    It only reads its arguments, so it runs on the worker thread while the next block is split.
    """
    if not len(records):
        return _ParsedBlock(None, [], 0)
    text: bytes | None = _value_bytes(records)
    if b"\r" in text:
        records, text = pc.utf8_rtrim(records, characters="\r"), None
    # most blocks have every record at the header's width: Arrow parses them at once, and says when one is not
    miscounted: list = []
    table = _parse_whole_records(records, delimiter, width, original_name, miscounted, text)
    if not miscounted:
        return _ParsedBlock(table.append_column(SOURCE_ROW, pa.array(line_numbers, pa.int64())), [], 0)
    unquoted = pc.replace_substring_regex(records, QUOTED_FIELD_RE2, "")
    counts = np.array(pc.count_substring(unquoted, delimiter), dtype=np.int64) + 1
    too_many = counts > width
    rejects = [
        Reject(int(line), f"expected {width} fields, found {count}", text[:MAX_RAW_CHARACTERS])
        for line, text, count in zip(line_numbers[too_many], records.filter(pa.array(too_many)).to_pylist(), counts[too_many])
    ]
    short_rows = int((counts < width).sum())
    keep = ~too_many
    if not keep.any():
        return _ParsedBlock(None, rejects, short_rows)
    kept = records if keep.all() else records.filter(pa.array(keep))
    if short_rows:
        padding = pa.array([delimiter * missing for missing in range(width)], pa.string())
        kept = pc.binary_join_element_wise(kept, padding.take(pa.array(np.clip(width - counts[keep], 0, None))), "")
    table = _parse_whole_records(kept, delimiter, width, original_name)
    return _ParsedBlock(table.append_column(SOURCE_ROW, pa.array(line_numbers[keep], pa.int64())), rejects, short_rows)


class _BlockWalk:
    """One block's records: lines grouped by quote parity and checked by one regex; only groups that fail are walked."""

    def __init__(self, lines: pa.StringArray, first: int, at_eof: bool, delimiter: str, newline: str) -> None:
        self.lines, self.first, self.at_eof, self.delimiter, self.newline = lines, first, at_eof, delimiter, newline
        self.pattern = _record_pattern(delimiter)
        self.blank = np.array(_blank(lines), dtype=bool)
        self.whole_line = np.array(_well_formed(lines, self.pattern), dtype=bool) & ~self.blank
        self.parity = np.cumsum(_odd_quotes(lines, self.whole_line | self.blank)) % 2
        self.ends_by_parity = (np.flatnonzero(self.parity == 0), np.flatnonzero(self.parity == 1))
        self.texts: list[pa.StringArray] = []
        self.line_numbers: list[np.ndarray] = []
        self.single_lines: list[int] = []
        self.scanners: list[_RecordScanner] = []
        self.rejects: list[Reject] = []
        self.pending: _RecordScanner | None = None

    def run(self) -> tuple[pa.StringArray, np.ndarray, list[_RecordScanner]]:
        """The well-formed records' text and lines, and the records that were walked."""
        position, batch = 0, FIRST_BATCH
        while position < len(self.lines):
            position, batch = self._step(position, batch)
        self.texts.append(self.lines.take(pa.array(self.single_lines, pa.int64())))
        self.line_numbers.append(self.first + np.array(self.single_lines, dtype=np.int64))
        return pa.concat_arrays(self.texts), np.concatenate(self.line_numbers), self.scanners

    def _step(self, position: int, batch: int) -> tuple[int, int]:
        """Check up to `batch` records from `position`; walk the first that fails; where to go on, and the next batch."""
        # A record starting here ends at the next line that brings the quote count back to its parity before it.
        ends = self.ends_by_parity[int(self.parity[position - 1]) if position else 0]
        ends = ends[np.searchsorted(ends, position) :][:batch]
        if not len(ends):
            return self._walk_one(position), FIRST_BATCH
        starts = np.concatenate(([position], ends[:-1] + 1))
        window = self.lines.slice(position, int(ends[-1]) + 1 - position)
        single = ends == starts
        if single.all():
            # every record is one line, already checked by the block's regex: no joining, no second check
            groups, well_formed = window, self.whole_line[starts] | self.blank[starts]
        else:
            offsets = pa.array(np.concatenate(([0], ends + 1 - position)), pa.int32())
            groups = pc.binary_join(pa.ListArray.from_arrays(offsets, window), self.newline)
            well_formed = np.array(_well_formed(groups, self.pattern), dtype=bool)
        is_blank = single & self.blank[starts]
        bad = np.flatnonzero(~(is_blank | well_formed))
        taken = int(bad[0]) if len(bad) else len(starts)
        self.texts.append(groups.slice(0, taken).filter(pa.array(~is_blank[:taken])))
        self.line_numbers.append(self.first + starts[:taken][~is_blank[:taken]])
        if not len(bad):
            return int(ends[-1]) + 1, min(2 * batch, MAX_BATCH)
        return self._walk_stretch(self._walk_one(int(starts[taken]))), FIRST_BATCH

    def _walk_stretch(self, position: int) -> int:
        """After a record that needed walking, go line by line until a run of whole lines says the trouble is over."""
        run = 0
        while position < len(self.lines) and run < FIRST_BATCH:
            if self.blank[position] or self.whole_line[position]:
                if self.whole_line[position]:
                    self.single_lines.append(position)
                position, run = position + 1, run + 1
            else:
                position, run = self._walk_one(position), 0
        return position

    def _walk_one(self, start: int) -> int:
        """Walk the record at `start`; the index to go on from (the block's end when it is left open for the next block)."""
        scanner = _RecordScanner(self.first + start, self.delimiter, self.newline)
        end, done = _feed(scanner, self.lines, start)
        if not done and not self.at_eof:
            self.pending = scanner
            return len(self.lines)
        if not done:
            scanner.end_of_file()
        if scanner.problem is None:
            self.scanners.append(scanner)
            return end
        # Its first line is the reject; the lines after it are read again as records.
        self.rejects.append(Reject(scanner.first_line, scanner.problem, scanner.first_text or ""))
        return start + 1


def _feed(scanner: _RecordScanner, lines: pa.StringArray, start: int) -> tuple[int, bool]:
    """Feed lines from `start` until the record is done; the index after the last line fed, and whether it is done."""
    index = start
    while index < len(lines):
        index += 1
        if scanner.feed(lines[index - 1].as_py()):
            return index, True
    return index, False


def _record_problem(scanner: _RecordScanner, width: int) -> str | None:
    if scanner.too_long or any(len(field) > MAX_FIELD_BYTES // 4 and _utf8_length(field) > MAX_FIELD_BYTES for field in scanner.fields):
        return f"a field is longer than {MAX_FIELD_BYTES} bytes, the most a Snowflake VARCHAR holds"
    if len(scanner.fields) > width:
        return f"expected {width} fields, found {len(scanner.fields)}"
    return None


def _line_blocks(first_chunk: str, chunks: Iterator[str], newline: str, skip_lines: int) -> Iterator[tuple[pa.StringArray, bool]]:
    """Complete lines chunk by chunk (line ends removed), after skipping `skip_lines`; the last block says end of file."""
    carry = ""
    for chunk in _chain(first_chunk, chunks):
        text = carry + chunk
        cut = text.rfind(newline)
        if cut < 0:
            carry = text
            continue
        complete, carry = text[:cut], text[cut + 1 :]
        complete, skip_lines = _skip(complete, newline, skip_lines)
        if complete is not None:
            yield _split(complete, newline), False
    last, skip_lines = _skip(carry, newline, skip_lines) if carry else (None, 0)
    yield (_split(last, newline) if last is not None else pa.array([], pa.string())), True


def _head(chunks: Iterator[str]) -> str:
    """Enough of the text to tell its line end: up to the first LF, or NEWLINE_SAMPLE characters."""
    head = ""
    while "\n" not in head and len(head) < NEWLINE_SAMPLE:
        chunk = next(chunks, None)
        if chunk is None:
            break
        head += chunk
    return head


def _chain(first_chunk: str, chunks: Iterator[str]) -> Iterator[str]:
    if first_chunk:
        yield first_chunk
    yield from chunks


def _skip(text: str, newline: str, skip_lines: int) -> tuple[str | None, int]:
    """`text` without its first `skip_lines` lines (None when none is left), and how many lines are still to skip."""
    position = 0
    while skip_lines:
        found = text.find(newline, position)
        if found < 0:
            return None, skip_lines - 1
        position, skip_lines = found + 1, skip_lines - 1
    return text[position:], 0


def _split(text: str, newline: str) -> pa.StringArray:
    return pc.split_pattern(pa.array([text], pa.string()), newline).flatten()


def _blank(lines: pa.StringArray) -> pa.BooleanArray:
    return pc.is_in(lines, value_set=pa.array(["", "\r"], pa.string()))


def _odd_quotes(lines: pa.StringArray, even: np.ndarray) -> np.ndarray:
    """1 for each line with an odd number of quotes, else 0. The lines known `even` are not searched: a
    well-formed record holds its quotes in pairs (around a field, and `""` within one) and a blank line none, so
    most blocks search no line at all; counting every line's quotes took a fifth of reading a quoted CSV."""
    odd = np.zeros(len(lines), dtype=np.int64)
    searched = np.flatnonzero(~even)
    if len(searched):
        odd[searched] = np.array(pc.count_substring(lines.take(pa.array(searched)), '"'), dtype=np.int64) % 2
    return odd


def _well_formed(records: pa.StringArray, pattern: str) -> pa.BooleanArray:
    """Which records are whole and well formed (`pattern`, _record_pattern) and no longer than a field may be.

    A record holding no quote, CR or LF matches the pattern whatever else it holds (unquoted fields of anything but
    the delimiter), so only the records that hold one are matched: the regex over every record took a fifth of the
    CPU of reading a 10M-row file whose values are quoted only where they must be (as pandas and PostgreSQL write).
    """
    fits = pc.less_equal(pc.binary_length(records), MAX_FIELD_BYTES)
    searched = _holding_quotes_or_breaks(records)
    if searched is None:
        return pc.and_(pc.match_substring_regex(records, pattern), fits)
    matched = np.ones(len(records), dtype=bool)
    if len(searched):
        matched[searched] = np.asarray(pc.match_substring_regex(records.take(pa.array(searched)), pattern), dtype=bool)
    return pc.and_(pa.array(matched), fits)


def _holding_quotes_or_breaks(records: pa.StringArray) -> np.ndarray | None:
    """The positions of the records holding a quote, CR or LF; None when the first records mostly hold one (a
    file that quotes every value: the regex over all of them is then cheaper than finding which)."""
    if not pa.types.is_string(records.type) or not len(records):  # _offsets_and_bytes reads 32-bit offsets
        return None
    offsets, text = _offsets_and_bytes(records)
    data = np.frombuffer(text, dtype=np.uint8)
    probed = min(len(records), DENSITY_PROBE)
    if np.count_nonzero(_quotes_or_breaks(data[: offsets[probed] - offsets[0]])) > probed // 4:
        return None
    found = np.flatnonzero(_quotes_or_breaks(data))
    # the record a byte is in: the last whose start is at or before it
    return np.unique(np.searchsorted(offsets[1:] - offsets[0], found, side="right"))


def _quotes_or_breaks(data: np.ndarray) -> np.ndarray:
    return (data == ord('"')) | (data == ord("\r")) | (data == ord("\n"))


def _record_pattern(delimiter: str) -> str:
    """A complete, well-formed record: quoted fields (which may hold line breaks) or unquoted ones without quotes."""
    in_class = "\\t" if delimiter == "\t" else delimiter
    field = f'"(?:[^"]|"")*"|[^"\\r\\n{in_class}]*'
    return f"^(?:{field})(?:[{in_class}](?:{field}))*\\r?$"


def _parse_whole_records(
    records: pa.StringArray,
    delimiter: str,
    width: int,
    original_name: str,
    miscounted: list | None = None,
    text: bytes | None = None,
) -> pa.Table:
    """Arrow parses the whole-line records in one pass, with blocks larger than the longest of them.

    Given `miscounted`, a record with other than `width` fields is left out and noted there; else it is an error.
    `text` is the records' bytes (_value_bytes) when the caller has them already.
    """
    names = [f"f{index}" for index in range(width)]
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(records)], pa.int32()), records), "\n")
    longest = pc.max(pc.binary_length(records)).as_py() or 0
    text = _value_bytes(records) if text is None else text
    line_breaks = b"\n" in text or b"\r" in text
    table = pa_csv.read_csv(
        pa.BufferReader(joined[0].as_buffer()),
        read_options=pa_csv.ReadOptions(column_names=names, block_size=max(MIN_ARROW_BLOCK, 2 * longest + 2)),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter, ignore_empty_lines=False, newlines_in_values=line_breaks,
            invalid_row_handler=None if miscounted is None else (lambda row: miscounted.append(row) or "skip"),
        ),  # fmt: skip
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    if table.num_rows != len(records) and not miscounted:
        raise IngestError(
            f"{original_name!r} was split into {len(records)} records but parsed into {table.num_rows} rows; "
            "nothing was loaded from it, so report this with the file."
        )
    return table


def _value_bytes(strings: pa.StringArray) -> bytes:
    """The strings' bytes end to end, for a byte to be looked for in all of them at once: pc.match_substring takes
    one string at a time (69 ms for 200,000 records, against 3 ms for this copy and a find)."""
    if not pa.types.is_string(strings.type):  # _offsets_and_bytes reads 32-bit offsets
        strings = strings.cast(pa.string())
    return _offsets_and_bytes(strings)[1].tobytes()


def _offsets_and_bytes(strings: pa.StringArray) -> tuple[np.ndarray, memoryview]:
    """The strings' offsets and their bytes end to end, without a copy: they lie between their first and last
    offsets, in a buffer they may share with others."""
    if not len(strings):
        return np.zeros(1, dtype=np.int32), memoryview(b"")
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32, count=len(strings) + 1, offset=strings.offset * 4)
    data = strings.buffers()[2]
    return offsets, memoryview(data if data is not None else b"")[offsets[0] : offsets[-1]]


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))
