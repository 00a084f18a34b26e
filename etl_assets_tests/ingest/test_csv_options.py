"""The source's reading options for delimited text, alone and as real exports combine them: every value and line
number is what the file says under those options."""

import random

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from etl_assets.errors import IngestError
from etl_assets.ingest.csv_records import DelimitedReader
from etl_assets.ingest.model import ReadOptions, Reject
from etl_assets.ingest.readers import read_file
from etl_assets.ingest.members import read_options
from etl_assets_tests.ingest.helpers import dataset


def _read(tmp_path, content, name="x.csv", fmt="csv", encoding="utf-8", **options):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return read_file(path, fmt, name, options=ReadOptions(**options))


def _rows(result):
    return [tuple(row.values()) for row in result.table.to_pylist()]


def _read_in_chunks(text, chunk, options):
    pieces = [text[start : start + chunk] for start in range(0, len(text), chunk)]
    reader = DelimitedReader(lambda: iter(pieces), "x.csv", options)
    return reader.result(list(reader.batches()))


@pytest.mark.parametrize("delimiter", [";", None])
def test_a_european_export_with_a_bom_reads_decimal_commas_as_dot_decimal_text(tmp_path, delimiter):
    content = (
        "Artikel;Preis;Menge;Notiz\r\n"
        "A-1;1.234,56;12,0;3,5 kg\r\n"
        "A-2;-0,5;1.234.567;1.2.3\r\n"
        'A-3;"0,5";007;12.03\r\n'
        "A-4;+1.000;007,50\r\n"
        "A-5;1;2;3;4\r\n"
        "A-6;12.030;1234,5;\r\n"
    )

    result = _read(tmp_path, content, encoding="utf-8-sig", delimiter=delimiter, decimal=",")

    assert result.columns == {"artikel": "Artikel", "preis": "Preis", "menge": "Menge", "notiz": "Notiz"}
    assert _rows(result) == [
        ("A-1", "1234.56", "12.0", "3,5 kg", 2),
        ("A-2", "-0.5", "1234567", "1.2.3", 3),
        ("A-3", "0.5", "007", "12.03", 4),
        ("A-4", "+1000", "007.50", None, 5),
        ("A-6", "12030", "1234.5", None, 7),
    ]
    assert result.short_rows == 1
    assert result.rejects == [Reject(6, "expected 4 fields, found 5", "A-5;1;2;3;4")]


def test_without_the_decimal_option_european_numbers_stay_as_written(tmp_path):
    result = _read(tmp_path, "a;b\n1.234,56;007\n", delimiter=";")
    assert _rows(result) == [("1.234,56", "007", 2)]


def test_a_two_line_banner_is_skipped_and_rows_and_rejects_keep_their_physical_lines(tmp_path):
    content = (
        'Sales export "Q1\n'  # a banner's stray quote must not open a field
        "generated 2026-01-05, by: ops\n"
        "id,name,amount\n"
        "1,Anna,10\n"
        "\n"
        '2,"multi\nline",20\n'
        "3,Ben,30,extra\n"
        '4,"never closed,40\n'
        "5,Cleo\n"
        "6,Dan,60\n"
    )

    result = _read(tmp_path, content, skip_rows=2)

    assert result.columns == {"id": "id", "name": "name", "amount": "amount"}
    assert _rows(result) == [
        ("1", "Anna", "10", 4),
        ("2", "multi\nline", "20", 6),
        ("5", "Cleo", None, 10),
        ("6", "Dan", "60", 11),
    ]
    assert result.short_rows == 1
    assert result.rejects == [
        Reject(8, "expected 3 fields, found 4", "3,Ben,30,extra"),
        Reject(9, "a quoted field starts on this line and never closes", '4,"never closed,40'),
    ]


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_skipped_lines_and_line_numbers_hold_across_any_chunk_boundary(chunk):
    text = 'title "x\r\n\r\nid;v\r\n1;"a\r\nb"\r\n2;"open\r\n3;c;d\r\n4\r\n'
    result = _read_in_chunks(text, chunk, ReadOptions(skip_rows=2))
    assert result.header == ["id", "v"]
    assert result.table.to_pylist() == [
        {"f0": "1", "f1": "a\r\nb", "_source_row": 4},
        {"f0": "4", "f1": None, "_source_row": 8},
    ]
    assert [(reject.line, reject.reason) for reject in result.rejects] == [
        (6, "a quoted field starts on this line and never closes"),
        (7, "expected 2 fields, found 3"),
    ]


def test_skipping_every_line_gives_an_empty_table(tmp_path):
    result = _read(tmp_path, "banner\nid,name\n", skip_rows=5)
    assert result.table.num_rows == 0 and result.rejects == []


def test_a_headerless_file_has_its_first_record_as_data_and_columns_column_1_onward(tmp_path):
    content = '"A-1","two\nlines",1\nA-2,x,2\nA-3,short\nA-4,y,4,long\nA-5,"q ""z""",5\n'

    result = _read(tmp_path, content, header=False)

    assert result.columns == {"column_1": "column_1", "column_2": "column_2", "column_3": "column_3"}
    assert _rows(result) == [
        ("A-1", "two\nlines", "1", 1),
        ("A-2", "x", "2", 3),
        ("A-3", "short", None, 4),
        ("A-5", 'q "z"', "5", 6),
    ]
    assert result.short_rows == 1
    assert result.rejects == [Reject(5, "expected 3 fields, found 4", "A-4,y,4,long")]


def test_a_headerless_file_after_a_banner_counts_the_banner_in_its_line_numbers(tmp_path):
    result = _read(tmp_path, "export\n\n1;0,5;NA\n2;1.000;x\n", header=False, skip_rows=1, decimal=",", null_values=["NA"])
    assert result.columns == {"column_1": "column_1", "column_2": "column_2", "column_3": "column_3"}
    assert _rows(result) == [("1", "0.5", None, 3), ("2", "1000", "x", 4)]


def test_a_headerless_file_whose_first_record_never_closes_its_quote_is_one_clear_error(tmp_path):
    with pytest.raises(IngestError) as caught:
        _read(tmp_path, 'x\n1,"open\n2,b\n', header=False, skip_rows=1)
    assert str(caught.value) == (
        "The first record of 'x.csv' (line 2), whose width gives the columns, cannot be read: a quoted field starts "
        "on this line and never closes; fix that line and upload the file again under the same name."
    )


def test_null_values_become_null_in_every_column_and_only_as_written(tmp_path):
    content = 'id,a,b\n1,NA,NULL\n2,NAN,na\n3,"NA",NA \nNULL,x\n5,N/A,NA,extra\n007,-,\n'

    result = _read(tmp_path, content, null_values=["NA", "NULL"])

    assert _rows(result) == [
        ("1", None, None, 2),
        ("2", "NAN", "na", 3),
        ("3", None, "NA ", 4),
        (None, "x", None, 5),
        ("007", "-", None, 7),
    ]
    assert result.short_rows == 1
    assert result.rejects == [Reject(6, "expected 3 fields, found 4", "5,N/A,NA,extra")]


def test_a_single_quote_as_the_quote_character(tmp_path):
    content = (
        "id,text,note\n"
        "1,'a, b','it''s'\n"
        "2,'two\nlines',12\" pizza\n"
        '3,"not quoted",x\n'
        "4,'short'\n"
        "5,'p,q','r','s'\n"
        "6,'closed' early,y\n"
        "007,'',z\n"
    )

    result = _read(tmp_path, content, quote="'")

    assert _rows(result) == [
        ("1", "a, b", "it's", 2),
        ("2", "two\nlines", '12" pizza', 3),
        ("3", '"not quoted"', "x", 5),
        ("4", "short", None, 6),
        ("007", None, "z", 9),
    ]
    assert result.short_rows == 1
    assert result.rejects == [
        Reject(7, "expected 3 fields, found 4", "5,'p,q','r','s'"),
        Reject(8, "a closing quote is followed by ' ' instead of a delimiter", "6,'closed' early,y"),
    ]


def test_backslash_escapes_in_quoted_and_unquoted_fields(tmp_path):
    content = (
        "id,text,note\n"
        '1,"a \\"quoted\\" word, a comma\nand a new line",x\n'
        '2,"back\\\\slash","doubled "" quote"\n'
        "3,p\\,q,\\\"lead\n"
        "4,tail\\\nnext line,y\n"
        '5,"x\\,y"\n'
        "6,a\\,b,c,d\n"
        '007,"\\\\",""\n'
    )

    result = _read(tmp_path, content, escape="\\")

    assert _rows(result) == [
        ("1", 'a "quoted" word, a comma\nand a new line', "x", 2),
        ("2", "back\\slash", 'doubled " quote', 4),
        ("3", "p,q", '"lead', 5),
        ("4", "tail\nnext line", "y", 6),
        ("5", "x,y", None, 8),
        ("007", "\\", None, 10),
    ]
    assert result.short_rows == 1
    assert result.rejects == [Reject(9, "expected 3 fields, found 4", "6,a\\,b,c,d")]


def test_an_escape_before_a_crlf_line_end_keeps_the_cr_and_ends_the_record(tmp_path):
    result = _read(tmp_path, 'a,b\r\n1,x\\\r\n2,"y\\\r\nz"\r\n3,w\r\n', escape="\\")
    assert _rows(result) == [("1", "x\r", 2), ("2", "y\r\nz", 3), ("3", "w", 5)]


def test_a_file_ending_in_an_escaped_line_break_rejects_that_record(tmp_path):
    result = _read(tmp_path, "a,b\n1,x\n2,y\\\n", escape="\\")
    assert _rows(result) == [("1", "x", 2)]
    assert result.rejects == [Reject(3, "the file ends just after an escaped line break", "2,y\\")]


def _written_field(rng, quote, escape, plain_only):
    """A field as an exporter writes it with `quote` and `escape`, and the value it holds."""
    quoted = not plain_only and rng.random() < 0.5
    # text, and quote characters where they are text: not the quote inside a quoted field nor in the plain records
    tokens = [(char, char) for char in ["a", "Z", "é", " ", "1", "'", '"'] if char != quote or not (quoted or plain_only)] * 3
    if quoted:
        tokens += [(quote * 2, quote), (",", ","), ("\n", "\n"), ("\r\n", "\r\n")]
        if escape:
            tokens += [(escape + quote, quote), (escape * 2, escape), (escape + "\n", "\n"), (escape + "x", "x")]
    elif escape and not plain_only:
        tokens += [(escape + ",", ","), (escape * 2, escape), (escape + quote, quote), (escape + "\n", "\n"), (escape + "\r", "\r")]
    written, value = "", ""
    for _ in range(rng.randint(0, 5)):
        text, meaning = rng.choice(tokens)
        written, value = written + text, value + meaning
    if not quoted and written.startswith(quote):  # it would open a quoted field
        return _written_field(rng, quote, escape, plain_only)
    return (quote + written + quote if quoted else written), (value or None)


def _export(rng, quote, escape, newline, plain_share):
    lines, rows, line = ["w,x,y,z"], [], 2
    for _ in range(300):
        plain = rng.random() < plain_share
        fields = [_written_field(rng, quote, escape, plain) for _ in range(4)]
        record = ",".join(text for text, _ in fields)
        rows.append({**{f"f{index}": value for index, (_, value) in enumerate(fields)}, "_source_row": line})
        lines.append(record)
        line += record.count("\n") + 1
    return newline.join(lines) + newline, rows


@pytest.mark.parametrize(("quote", "escape"), [("'", None), ('"', "\\"), ("'", "\\"), ('"', "~")])
@pytest.mark.parametrize("plain_share", [0.0, 0.9])
def test_records_read_as_arrow_reads_them_with_that_quote_and_escape_parsed_at_once_or_walked(quote, escape, plain_share):
    # every written record is well-formed, so what the reader gives must be what was written and what Arrow reads
    # from the whole text at once; the chunks make records span blocks and split escapes from what they escape
    rng = random.Random(f"{quote}{escape}{plain_share}")
    for newline in ("\n", "\r\n"):
        text, rows = _export(rng, quote, escape, newline, plain_share)
        names = ["f0", "f1", "f2", "f3"]
        by_arrow = pa_csv.read_csv(
            pa.BufferReader(text.encode()),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(quote_char=quote, escape_char=escape or False, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True
            ),
        )
        assert by_arrow.to_pylist() == [{name: row[name] for name in names} for row in rows]
        for chunk in (len(text), 97, 7):
            result = _read_in_chunks(text, chunk, ReadOptions(quote=quote, escape=escape))
            assert result.rejects == [] and result.short_rows == 0
            assert result.table.to_pylist() == rows


ZEROS = "id;code\n007;00123\n0;0,0\n"


@pytest.mark.parametrize(
    ("options", "content", "second"),
    [
        ({"decimal": ","}, ZEROS, ("0", "0.0")),
        ({"null_values": ["NA"]}, ZEROS, ("0", "0,0")),
        ({"quote": "'"}, ZEROS.replace("00123", "'00123'"), ("0", "0,0")),
        ({"escape": "\\"}, ZEROS.replace("00123", "00\\123"), ("0", "0,0")),
        ({"header": False}, ZEROS.removeprefix("id;code\n"), ("0", "0,0")),
        ({"skip_rows": 1}, "banner\n" + ZEROS, ("0", "0,0")),
    ],
)
def test_leading_zeros_stay_under_every_option(tmp_path, options, content, second):
    result = _read(tmp_path, content, delimiter=";", **options)
    assert [row[:2] for row in _rows(result)] == [("007", "00123"), second]


def test_a_configured_delimiter_is_used_even_where_another_would_be_detected(tmp_path):
    result = _read(tmp_path, "a,b;c,d\n1,2;3,4\n", delimiter=";")
    assert result.columns == {"a_b": "a,b", "c_d": "c,d"}
    assert _rows(result) == [("1,2", "3,4", 2)]


def test_detection_never_takes_the_quote_or_a_decimal_comma_for_the_delimiter(tmp_path):
    by_quote = _read(tmp_path, "|a,b|;|c|;d\n|1,5|;2;3\n", quote="|")
    assert _rows(by_quote) == [("1,5", "2", "3", 2)]
    by_decimal = _read(tmp_path, "amount\n1,5\n", decimal=",")
    assert _rows(by_decimal) == [("1.5", 2)]


def test_tsv_takes_the_options_with_its_tab(tmp_path):
    result = _read(tmp_path, "skip me\nid\tv\n1\tNA\n2\t'a\tb'\n", name="x.tsv", fmt="tsv", skip_rows=1, null_values=["NA"], quote="'")
    assert _rows(result) == [("1", None, 3), ("2", "a\tb", 4)]


@pytest.mark.parametrize(
    ("options", "name", "message"),
    [
        (
            {"quote": "\t"},
            "x.tsv",
            "Cannot read 'x.tsv' with '\\t' as its delimiter: the delimiter, quote and escape must be different "
            "characters; set source.delimiter, quote or escape in etl_config.yaml.",
        ),
        (
            {"quote": "«"},
            "x.csv",
            "Cannot read 'x.csv' with the quote '«': delimited text is read only with an ASCII delimiter, quote and "
            "escape; set source.quote in etl_config.yaml to one.",
        ),
        (
            {"quote": "'"},
            "x.csv",
            "The header of 'x.csv' (line 1) cannot be read: a quoted field starts on this line and never closes; "
            "fix the header line and upload the file again under the same name.",
        ),
    ],
)
def test_options_that_make_the_file_unreadable_are_one_clear_error(tmp_path, options, name, message):
    with pytest.raises(IngestError) as caught:
        _read(tmp_path, "'id,name\n1,a\n", name=name, fmt=name[-3:], **options)
    assert str(caught.value) == message


def test_the_source_config_reaches_the_reader(tmp_path):
    source = dataset(tmp_path, delimiter=";", quote="'", escape="\\", null_values=["-"], skip_rows=1, decimal=",").source
    path = tmp_path / "export.csv"
    path.write_text("Bericht\nid;betrag;text\n1;1.234,5;'it\\'s; fine'\n2;-;-\n", encoding="utf-8")

    result = read_file(path, source.format, path.name, options=read_options(source))

    assert _rows(result) == [("1", "1234.5", "it's; fine", 3), ("2", None, None, 4)]
