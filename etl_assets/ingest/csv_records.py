"""Delimited text split into records block by block, quote-aware, so one bad line never takes other lines with it.

Most lines are whole records: a vectorised test finds them and Arrow parses them in one pass, on a worker thread
while the reader splits the next block, so the two use both cores. Only the others
(quoted fields over several lines, stray or broken quotes, very long lines) are walked in Python, one record at a
time. A quote that never closes, or closes before something other than a delimiter, makes its first line a reject
and the lines after it are read again as records. The source's options (ReadOptions) give the delimiter, quote and
escape (delimited_syntax.py), the lines skipped before the header or that there is none, and how values are read
(delimited_values.py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from etl_assets.config.columns import SOURCE_ROW
from etl_assets.errors import IngestError
from etl_assets.ingest.delimited_syntax import Syntax, checked_syntax, detected_delimiter
from etl_assets.ingest.delimited_values import read_values
from etl_assets.ingest.model import ReadOptions, Reject

MAX_FIELD_BYTES = 16 * 1024 * 1024  # the most a Snowflake VARCHAR holds
# the records _well_formed looks at first to tell a file that quotes every value from one that quotes a few
DENSITY_PROBE = 1_000
MAX_RAW_CHARACTERS = 65536  # a reject keeps this much of its text; the archived file keeps all of it
MIN_ARROW_BLOCK = 4 * 1024 * 1024
# How many records one vectorised step checks: small again after a record that needed walking, so a file full of
# stray quotes does not re-check long stretches, doubling while records come out well-formed.
FIRST_BATCH, MAX_BATCH = 64, 65536
NEWLINE_SAMPLE = 1024 * 1024
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
    reader = DelimitedReader(open_text, original_name, ReadOptions(delimiter=delimiter))
    return reader.result(list(reader.batches()))


class RecordScanner:
    """One record read field by field, over as many lines as its quoted (or escaped) line breaks span."""

    def __init__(self, first_line: int, syntax: Syntax, newline: str) -> None:
        self.first_line = first_line
        self.syntax = syntax
        self.newline = newline
        self.fields: list[str] = []
        self.lines: list[str] | None = []  # kept to read them again when the record turns out broken
        self.first_text: str | None = None
        self.open_field: bool | None = None  # whether the field the last line ended within is quoted; None: none
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
        if self.open_field is not None:
            self._add(self.newline)
        return self._fields(line)

    def end_of_file(self) -> None:
        if self.open_field:
            self.problem = "a quoted field starts on this line and never closes"
        else:
            self.problem = "the file ends just after an escaped line break"

    def text(self) -> str:
        return self.newline.join(self.lines)[:MAX_RAW_CHARACTERS] if self.lines is not None else self.first_text or ""

    def _fields(self, line: str) -> bool:
        """Read the line's fields, the first going on from the line before when it ended within one; True once the
        record ends, False when its last field goes on to the next line."""
        syntax, position = self.syntax, 0
        while True:
            if self.open_field is None:  # a field starts here
                quoted = line.startswith(syntax.quote, position)
                if not quoted and syntax.escape is None:  # most fields: unquoted, up to the delimiter
                    end = line.find(syntax.delimiter, position)
                    if end < 0:
                        self.fields.append(line[position:].removesuffix("\r"))
                        return True
                    self.fields.append(line[position:end])
                    position = end + 1
                    continue
                self.open_field, self.parts, self.region_bytes = quoted, [], 0
                position += quoted  # past its opening quote
            quoted = self.open_field
            end = (syntax.quoted_text if quoted else syntax.plain_text).match(line, position).end()
            if syntax.goes_on(line, end, quoted):
                self._add(line[position:])
                return False
            self._add(line[position:end])
            self.fields.append(syntax.value("".join(self.parts), quoted))
            self.open_field, self.parts = None, []
            position = end + quoted  # past the closing quote
            if position == len(line) or line[position:] == "\r":
                return True
            if line[position] != syntax.delimiter:
                self.problem = f"a closing quote is followed by {line[position]!r} instead of a delimiter"
                return True
            position += 1

    def _add(self, piece: str) -> None:
        self.region_bytes += _utf8_length(piece)
        if self.region_bytes > MAX_FIELD_BYTES:
            # Past the limit the field is a reject anyway: keep scanning for its end, but hold nothing of it.
            self.too_long, self.parts, self.lines = True, [], None
        else:
            self.parts.append(piece)


class DelimitedReader:
    """Walks the text block by block, giving each block's rows as soon as they are read (in line order), and keeping
    the header, the rejects and a record left open between blocks; `header`, `rejects` and `short_rows` are whole
    once `batches()` is exhausted."""

    def __init__(self, open_text: TextSource, original_name: str, options: ReadOptions) -> None:
        self.open_text = open_text
        self.original_name = original_name
        self.options = options
        # None until the header line shows the delimiter, when the options leave it to be detected
        self.syntax = checked_syntax(options.delimiter, options, original_name) if options.delimiter is not None else None
        self.newline = "\n"
        self.header: list[str] | None = None
        self.header_scanner: RecordScanner | None = None
        self.pending: RecordScanner | None = None
        # each block's parse (running on the worker thread) and its walked records, in line order
        self.blocks: list[tuple[Future[_ParsedBlock] | None, pa.Table | None]] = []
        self.parser: ThreadPoolExecutor | None = None
        self.rejects: list[Reject] = []
        self.short_rows = 0

    def batches(self) -> Iterator[pa.Table]:
        """The rows block by block: columns f0..fN then `_source_row`."""
        resume_after: int | None = self.options.skip_rows
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
        head = _head(chunks)  # the file's start, whatever is skipped: every read tells the same line end
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
        if self.syntax is None:
            self.syntax = checked_syntax(detected_delimiter(line, self.options), self.options, self.original_name)
        self.pending = self.header_scanner = RecordScanner(first + start, self.syntax, self.newline)
        return start

    def _finish(self, scanner: RecordScanner, lines: pa.StringArray, index: int) -> tuple[pa.StringArray, int] | int | None:
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

    def _keep_header(self, scanner: RecordScanner) -> None:
        """The header, or with `header: false` the first record, whose width gives the columns column_1..column_N."""
        if scanner.problem is not None or scanner.too_long:
            reason = scanner.problem or f"a field is longer than {MAX_FIELD_BYTES} bytes"
            where = f"{self.original_name!r} (line {scanner.first_line})"
            what = f"header of {where}" if self.options.header else f"first record of {where}, whose width gives the columns,"
            raise IngestError(
                f"The {what} cannot be read: {reason}; fix {'the header line' if self.options.header else 'that line'} "
                "and upload the file again under the same name."
            )
        if self.options.header:
            self.header = scanner.fields
        else:
            self.header = [f"column_{index}" for index in range(1, len(scanner.fields) + 1)]
            self._keep(self._slow_records([scanner]))

    def _walk_records(self, lines: pa.StringArray, first: int, at_eof: bool) -> None:
        walk = _BlockWalk(lines, first, at_eof, self.syntax, self.newline)
        records, line_numbers, scanners = walk.run()
        self.rejects.extend(walk.rejects)
        self.pending = walk.pending
        width = len(self.header or [])
        if self.parser is None:
            self.parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-parse")
        fast = self.parser.submit(_parse_fast_records, records, line_numbers, width, self.syntax, self.options, self.original_name)
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

    def _slow_records(self, scanners: list[RecordScanner]) -> pa.Table | None:
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
        return _with_lines(pa.table(columns), source_rows, self.options)


@dataclass(frozen=True)
class _ParsedBlock:
    """A block's well-formed records parsed: their rows, the records with too many fields, and how many were padded."""

    table: pa.Table | None
    rejects: list[Reject]
    short_rows: int


def _parse_fast_records(
    records: pa.StringArray, line_numbers: np.ndarray, width: int, syntax: Syntax, options: ReadOptions, original_name: str
) -> _ParsedBlock:
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
    table = _parse_whole_records(records, syntax, width, original_name, miscounted, text)
    if not miscounted:
        return _ParsedBlock(_with_lines(table, line_numbers, options), [], 0)
    unquoted = pc.replace_substring_regex(records, syntax.not_delimiters, "")
    counts = np.array(pc.count_substring(unquoted, syntax.delimiter), dtype=np.int64) + 1
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
        padding = pa.array([syntax.delimiter * missing for missing in range(width)], pa.string())
        kept = pc.binary_join_element_wise(kept, padding.take(pa.array(np.clip(width - counts[keep], 0, None))), "")
    table = _parse_whole_records(kept, syntax, width, original_name)
    return _ParsedBlock(_with_lines(table, line_numbers[keep], options), rejects, short_rows)


def _with_lines(fields: pa.Table, line_numbers: np.ndarray | list[int], options: ReadOptions) -> pa.Table:
    """Parsed fields read as the options say (delimited_values.py), with the line each record starts on."""
    return read_values(fields, options).append_column(SOURCE_ROW, pa.array(line_numbers, pa.int64()))


class _BlockWalk:
    """One block's records: lines grouped by quote parity and checked by one regex; only groups that fail are walked."""

    def __init__(self, lines: pa.StringArray, first: int, at_eof: bool, syntax: Syntax, newline: str) -> None:
        self.lines, self.first, self.at_eof, self.syntax, self.newline = lines, first, at_eof, syntax, newline
        self.blank = np.array(_blank(lines), dtype=bool)
        self.whole_line = np.array(_well_formed(lines, syntax.record_pattern, syntax.marks), dtype=bool) & ~self.blank
        self.parity = np.cumsum(_odd_quotes(lines, self.whole_line | self.blank, syntax.quote, syntax.escaped)) % 2
        self.ends_by_parity = (np.flatnonzero(self.parity == 0), np.flatnonzero(self.parity == 1))
        self.texts: list[pa.StringArray] = []
        self.line_numbers: list[np.ndarray] = []
        self.single_lines: list[int] = []
        self.scanners: list[RecordScanner] = []
        self.rejects: list[Reject] = []
        self.pending: RecordScanner | None = None

    def run(self) -> tuple[pa.StringArray, np.ndarray, list[RecordScanner]]:
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
            well_formed = np.array(_well_formed(groups, self.syntax.record_pattern, self.syntax.marks), dtype=bool)
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
        scanner = RecordScanner(self.first + start, self.syntax, self.newline)
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


def _feed(scanner: RecordScanner, lines: pa.StringArray, start: int) -> tuple[int, bool]:
    """Feed lines from `start` until the record is done; the index after the last line fed, and whether it is done."""
    index = start
    while index < len(lines):
        index += 1
        if scanner.feed(lines[index - 1].as_py()):
            return index, True
    return index, False


def _record_problem(scanner: RecordScanner, width: int) -> str | None:
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


def _odd_quotes(lines: pa.StringArray, even: np.ndarray, quote: str = '"', escaped: str | None = None) -> np.ndarray:
    """1 for each line with an odd number of quotes, not counting those `escaped` (Syntax.escaped), else 0. The
    lines known `even` are not searched: a well-formed record holds its quotes in pairs (around a field, and `""`
    within one) and a blank line none, so most blocks search no line at all; counting every line's quotes took a
    fifth of reading a quoted CSV."""
    odd = np.zeros(len(lines), dtype=np.int64)
    searched = np.flatnonzero(~even)
    if len(searched):
        texts = lines.take(pa.array(searched))
        if escaped is not None:
            texts = pc.replace_substring_regex(texts, escaped, "")
        odd[searched] = np.array(pc.count_substring(texts, quote), dtype=np.int64) % 2
    return odd


def _well_formed(records: pa.StringArray, pattern: str, marks: bytes = b'"\r\n') -> pa.BooleanArray:
    """Which records are whole and well formed (`pattern`, Syntax.record_pattern) and no longer than a field may be.

    A record holding none of `marks` (Syntax.marks: quote, escape, CR, LF) matches the pattern whatever else it
    holds (unquoted fields of anything but the delimiter), so only the records that hold one are matched: the regex
    over every record took a fifth of the CPU of reading a 10M-row file whose values are quoted only where they must
    be (as pandas and PostgreSQL write).
    """
    fits = pc.less_equal(pc.binary_length(records), MAX_FIELD_BYTES)
    searched = _holding_quotes_or_breaks(records, marks)
    if searched is None:
        return pc.and_(pc.match_substring_regex(records, pattern), fits)
    matched = np.ones(len(records), dtype=bool)
    if len(searched):
        matched[searched] = np.asarray(pc.match_substring_regex(records.take(pa.array(searched)), pattern), dtype=bool)
    return pc.and_(pa.array(matched), fits)


def _holding_quotes_or_breaks(records: pa.StringArray, marks: bytes) -> np.ndarray | None:
    """The positions of the records holding one of `marks`; None when the first records mostly hold one (a
    file that quotes every value: the regex over all of them is then cheaper than finding which)."""
    if not pa.types.is_string(records.type) or not len(records):  # _offsets_and_bytes reads 32-bit offsets
        return None
    offsets, text = _offsets_and_bytes(records)
    data = np.frombuffer(text, dtype=np.uint8)
    probed = min(len(records), DENSITY_PROBE)
    if np.count_nonzero(_quotes_or_breaks(data[: offsets[probed] - offsets[0]], marks)) > probed // 4:
        return None
    found = np.flatnonzero(_quotes_or_breaks(data, marks))
    # the record a byte is in: the last whose start is at or before it
    return np.unique(np.searchsorted(offsets[1:] - offsets[0], found, side="right"))


def _quotes_or_breaks(data: np.ndarray, marks: bytes) -> np.ndarray:
    found = data == marks[0]
    for mark in marks[1:]:
        found |= data == mark
    return found


def _parse_whole_records(
    records: pa.StringArray,
    syntax: Syntax,
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
            delimiter=syntax.delimiter, quote_char=syntax.quote, escape_char=syntax.escape or False,
            ignore_empty_lines=False, newlines_in_values=line_breaks,
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
