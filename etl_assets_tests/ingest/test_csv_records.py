"""Delimited files as real exports write them: what a value says is what loads, and no line is lost."""

import csv
import io
import random

import numpy as np
import pyarrow as pa
import pytest

from etl_assets.ingest.csv_records import MAX_FIELD_BYTES, read_delimited
from etl_assets.ingest.readers import Reject, read_file


def _read(tmp_path, content, name="x.csv", fmt="csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return read_file(path, fmt, name)


def _rows(result):
    return [tuple(row.values()) for row in result.table.to_pylist()]


def test_an_unterminated_quote_rejects_its_line_and_the_lines_after_it_load(tmp_path):
    result = _read(tmp_path, 'a,b\n1,"hello\n2,world\n3,x\n4,y\n')
    assert _rows(result) == [("2", "world", 3), ("3", "x", 4), ("4", "y", 5)]
    assert result.rejects == [Reject(2, "a quoted field starts on this line and never closes", '1,"hello')]


def test_a_closing_quote_followed_by_text_rejects_its_line_instead_of_joining_lines(tmp_path):
    result = _read(tmp_path, 'a,b\n1,"Big" pizza\n2,"open\n3,"multi\nline"\n4,z\n')
    assert _rows(result) == [("3", "multi\nline", 4), ("4", "z", 6)]
    assert [(reject.line, reject.raw) for reject in result.rejects] == [(2, '1,"Big" pizza'), (3, '2,"open')]
    assert result.rejects[0].reason == "a closing quote is followed by ' ' instead of a delimiter"


def test_real_export_quoting_keeps_every_value_as_written(tmp_path):
    content = (
        "\ufeff\r\n"
        '"id","text","note"\r\n'
        '"1","say ""hi""","a, b"\r\n'
        '2,12" pizza,5\'11"\r\n'
        '"3","two\r\nlines",\r\n'
        "\r\n"
        '4,"",""\r\n'
        '5,"ends with quote """,x\r\n'
    )
    result = _read(tmp_path, content)
    assert result.columns == {"id": "id", "text": "text", "note": "note"}
    assert _rows(result) == [
        ("1", 'say "hi"', "a, b", 3),
        ("2", '12" pizza', "5'11\"", 4),
        ("3", "two\r\nlines", None, 5),
        ("4", None, None, 8),
        ("5", 'ends with quote "', "x", 9),
    ]
    assert result.rejects == []


def test_short_rows_load_with_nulls_in_the_missing_trailing_columns(tmp_path):
    result = _read(tmp_path, "a,b,c,d\n1,x,2020-01-01\n2,y,2020-02-01,2021-01-01\n")
    assert _rows(result) == [("1", "x", "2020-01-01", None, 2), ("2", "y", "2020-02-01", "2021-01-01", 3)]
    assert result.short_rows == 1
    assert result.rejects == []


def test_short_rows_are_padded_when_quoted_or_spanning_lines_and_long_rows_stay_rejects(tmp_path):
    content = 'a,b,c\n"1","x"\n2,"multi\nline"\n3\n4,x,y,z\n"5","p,q","r","s"\n'
    result = _read(tmp_path, content)
    assert _rows(result) == [("1", "x", None, 2), ("2", "multi\nline", None, 3), ("3", None, None, 5)]
    assert result.short_rows == 3
    assert result.rejects == [
        Reject(6, "expected 3 fields, found 4", "4,x,y,z"),
        Reject(7, "expected 3 fields, found 4", '"5","p,q","r","s"'),
    ]


def test_tsv_quotes_and_short_rows(tmp_path):
    result = _read(tmp_path, 'a\tb\tc\n1\t"x\ty"\n2\t3\t4\n', name="x.tsv", fmt="tsv")
    assert _rows(result) == [("1", "x\ty", None, 2), ("2", "3", "4", 3)]


def test_a_lone_carriage_return_stays_in_its_value_and_old_mac_line_ends_split_records(tmp_path):
    within = _read(tmp_path, "a,b\n1,x\ry\n2,z\n")
    assert _rows(within) == [("1", "x\ry", 2), ("2", "z", 3)]
    old_mac = _read(tmp_path, 'a,b\r1,"p\rq"\r2,z\r', name="mac.csv")
    assert _rows(old_mac) == [("1", "p\rq", 2), ("2", "z", 4)]


def test_a_header_that_never_closes_its_quote_is_one_clear_error(tmp_path):
    from etl_assets.errors import IngestError

    with pytest.raises(IngestError, match=r"header of 'x.csv' \(line 1\).*never closes.*upload the file again"):
        _read(tmp_path, 'a,"b\n1,2\n')


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_chunk_boundaries_anywhere_give_the_same_records(chunk):
    text = 'id,text\r\n1,"multi\r\nline ""q"""\r\n\r\n2,"open\r\n3,plain\r\n4,x,y\r\n5\r\n6,"a,b"\r\n'
    pieces = [text[start : start + chunk] for start in range(0, len(text), chunk)]
    whole = read_delimited(lambda: iter([text]), None, "x.csv")
    split = read_delimited(lambda: iter(pieces), None, "x.csv")
    assert split.table.to_pylist() == whole.table.to_pylist() == [
        {"f0": "1", "f1": 'multi\r\nline "q"', "_source_row": 2},
        {"f0": "3", "f1": "plain", "_source_row": 6},
        {"f0": "5", "f1": None, "_source_row": 8},
        {"f0": "6", "f1": "a,b", "_source_row": 9},
    ]
    assert split.rejects == whole.rejects
    assert [reject.line for reject in split.rejects] == [5, 7]
    assert split.short_rows == 1


def test_a_4_mb_field_loads_whole_quoted_over_lines_or_not(tmp_path):
    big = "x" * (4 * 1024 * 1024)
    quoted = "\n".join([big[:1000], big, "é" * 1000])
    result = _read(tmp_path, f'id,text\n1,{big}\n2,"{quoted}"\n3,small\n')
    assert _rows(result) == [("1", big, 2), ("2", quoted, 3), ("3", "small", 6)]


@pytest.mark.slow
def test_a_field_over_16_mib_makes_its_row_a_reject_and_one_of_exactly_16_mib_loads(tmp_path):
    limit = "y" * MAX_FIELD_BYTES
    over = "é" * (MAX_FIELD_BYTES // 2 + 1)  # fewer characters than the limit, but more UTF-8 bytes
    spanning = "z" * 1000 + ("\n" + "z" * 1000) * (MAX_FIELD_BYTES // 1001 + 1)
    content = f'id,text\n1,{limit}\n2,{over}\n3,"{spanning}"\n4,after\n'
    result = _read(tmp_path, content)
    assert [(row["id"], len(row["text"]), row["_source_row"]) for row in result.table.to_pylist()] == [
        ("1", MAX_FIELD_BYTES, 2),
        ("4", 5, 3 + 1 + spanning.count("\n") + 1),
    ]
    assert [reject.line for reject in result.rejects] == [3, 4]
    assert all("longer than 16777216 bytes" in reject.reason for reject in result.rejects)
    assert all(len(reject.raw) <= 65536 for reject in result.rejects)


@pytest.mark.slow
def test_a_quote_left_open_for_more_than_16_mib_rejects_one_line_and_the_rest_is_read_again(tmp_path):
    line_count = MAX_FIELD_BYTES // 1000 + 100
    lines = [f"{index},{'w' * 990}" for index in range(line_count)]
    result = _read(tmp_path, 'id,text\n1,"never closed\n' + "\n".join(lines) + "\n")
    assert result.rejects == [Reject(2, "a quoted field starts on this line and never closes", '1,"never closed')]
    assert result.table.num_rows == line_count
    assert result.table.slice(line_count - 1).to_pylist() == [
        {"id": str(line_count - 1), "text": "w" * 990, "_source_row": line_count + 2}
    ]


def _mixed_export(count: int) -> tuple[str, list[tuple], list[int]]:
    """Records of every kind a real export mixes, with the rows and reject lines they must give."""
    lines, rows, rejects = ["id,text,note"], [], []
    for index in range(count):
        line = len(lines) + 1
        if index % 13 == 5:
            lines.append(f'{index},"closed" early,x')
            rejects.append(line)
        elif index % 7 == 3:
            lines += [f'{index},"first, part', "middle,looks,like,a,record", 'last ""quoted"" part",y']
            rows.append((str(index), 'first, part\r\nmiddle,looks,like,a,record\r\nlast "quoted" part', "y", line))
        elif index % 11 == 2:
            lines.append(f'{index},12" pizza,5\'11"')
            rows.append((str(index), '12" pizza', "5'11\"", line))
        elif index % 17 == 4:
            lines.append(f"{index},short")
            rows.append((str(index), "short", None, line))
        elif index % 19 == 6:
            lines.append("")
            continue
        else:
            lines.append(f'"{index}","plain {index}",z')
            rows.append((str(index), f"plain {index}", "z", line))
    return "\r\n".join(lines) + "\r\n", rows, rejects


@pytest.mark.parametrize("count", [10, 300, 5000])
def test_a_long_mix_of_record_kinds_gives_every_value_and_line(tmp_path, count):
    content, rows, rejects = _mixed_export(count)
    result = _read(tmp_path, content)
    assert _rows(result) == rows
    assert [reject.line for reject in result.rejects] == rejects


@pytest.mark.parametrize("chunk", [97, 4096])
def test_the_mix_read_in_small_chunks_gives_the_same_rows(chunk):
    content, rows, rejects = _mixed_export(600)
    pieces = [content[start : start + chunk] for start in range(0, len(content), chunk)]
    result = read_delimited(lambda: iter(pieces), None, "x.csv")
    assert [tuple(row.values()) for row in result.table.to_pylist()] == rows
    assert [reject.line for reject in result.rejects] == rejects


def test_blocks_parsed_on_the_worker_thread_keep_their_order_rejects_and_padded_rows():
    # every chunk is a block whose records Arrow parses beside the reader; what each parse found joins in line order
    lines = ["id,a,b"] + [f"{n},x,y,z" if n % 10 == 3 else f"{n},only" if n % 10 == 7 else f'"{n}","a{n}",b' for n in range(3_000)]
    text = "\n".join(lines) + "\n"
    pieces = [text[start : start + 500] for start in range(0, len(text), 500)]

    result = read_delimited(lambda: iter(pieces), None, "x.csv")

    assert [reject.line for reject in result.rejects] == [n + 2 for n in range(3_000) if n % 10 == 3]
    assert result.short_rows == 300
    assert result.table.column("f0").to_pylist() == [str(n) for n in range(3_000) if n % 10 != 3]
    assert result.table.column("_source_row").to_pylist() == [n + 2 for n in range(3_000) if n % 10 != 3]


def test_blocks_arrow_parses_at_once_hold_what_the_csv_module_reads_field_by_field():
    # a block whose records all have the header's width is parsed in one go (no field counting first); quoted
    # delimiters, doubled quotes, quoted line breaks and empty fields must come out as the csv module reads them
    rng = random.Random(8)
    alphabet = ['a', 'Z', '0', ',', '"', ' ', 'é', '\n', '']
    rows = [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(4)] for _ in range(2_000)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["w", "x", "y", "z"], *rows])
    text = buffer.getvalue()

    result = read_delimited(lambda: iter([text[i : i + 700] for i in range(0, len(text), 700)]), None, "x.csv")

    reader = csv.reader(io.StringIO(text))
    expected, starts, line = [], [], 1
    for row in reader:
        expected.append(row)
        starts.append(line)
        line = reader.line_num + 1
    assert result.rejects == [] and result.short_rows == 0
    assert [[value or "" for value in row.values()][:4] for row in result.table.to_pylist()] == expected[1:]
    assert result.table.column("_source_row").to_pylist() == starts[1:], "each row keeps the line its record starts on"


def test_only_lines_that_are_not_whole_records_are_searched_for_an_odd_number_of_quotes():
    # a record's lines are grouped by quote parity; the parity of a well-formed line is known without a search,
    # so a line the regex took for a record must never hold an odd number of quotes
    from etl_assets.ingest.csv_records import _blank, _odd_quotes, _well_formed
    from etl_assets.ingest.delimited_syntax import record_pattern

    rng = random.Random(5)
    pieces = ['"', '""', "a", ",", " ", "\r", "é", '","']
    lines = pa.array(["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(20_000)], pa.string())
    even = np.array(_well_formed(lines, record_pattern(",")), dtype=bool) | np.array(_blank(lines), dtype=bool)

    odd = _odd_quotes(lines, even)

    assert 0 < even.sum() < len(lines) and 0 < odd.sum()
    assert odd.tolist() == [line.count('"') % 2 for line in lines.to_pylist()]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_records_without_quotes_or_line_breaks_are_judged_as_the_record_regex_judges_them(delimiter):
    # such records skip the regex: each must be judged as the regex would have judged it
    import pyarrow.compute as pc

    from etl_assets.ingest.csv_records import _well_formed
    from etl_assets.ingest.delimited_syntax import record_pattern

    pattern = record_pattern(delimiter)
    rng = random.Random(11)
    plain = ["a", delimiter, " ", "é", "1", "'", "\\", "\x00", "😀", ",", "\t", ";"]
    # none of the bytes the regex is needed for; a few, so only their records are matched; many, so all are
    for pieces in (plain, plain * 30 + ['"', '""', "\r", "\n"], [*plain, '"', "\r", "\n"]):
        for _ in range(300):
            block = pa.array(["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 60))], pa.string())
            by_regex = pc.and_(pc.match_substring_regex(block, pattern), pc.less_equal(pc.binary_length(block), MAX_FIELD_BYTES))
            assert _well_formed(block, pattern).to_pylist() == by_regex.to_pylist()
            # a slice shares its buffers with the block it came from
            assert _well_formed(block.slice(1), pattern).to_pylist() == by_regex.slice(1).to_pylist()
    for edge in ([], ["", ""], ["", '"']):  # no records; only empty ones, whose bytes buffer may be absent
        block = pa.array(edge, pa.string())
        assert _well_formed(block, pattern).to_pylist() == pc.match_substring_regex(block, pattern).to_pylist()
    too_long = pa.array(["x" * (MAX_FIELD_BYTES + 1), "ok"], pa.string())
    assert _well_formed(too_long, pattern).to_pylist() == [False, True]
