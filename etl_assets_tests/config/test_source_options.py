"""The source's delimited-text reading options are checked when the config loads, each mistake named once."""

import pytest

from etl_assets.ingest.model import ReadOptions
from etl_assets.ingest.members import read_options


def _orders(source: str) -> str:
    return f"datasets:\n  orders: {{source: {{path: /x, {source}}}, load: {{table: ORDERS}}}}\n"


def test_a_european_export_s_options_load_and_reach_the_reader(load_text):
    config = load_text(
        _orders("delimiter: ';', quote: \"'\", escape: '\\', null_values: [NA, 'NULL'], skip_rows: 2, header: false, decimal: ','")
    )

    assert read_options(config.datasets["orders"].source) == ReadOptions(
        delimiter=";", quote="'", escape="\\", null_values=("NA", "NULL"), skip_rows=2, header=False, decimal=","
    )


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("delimiter: ';;'", "field 'source.delimiter': delimiter must be one ASCII character other than a line break, got ';;'."),
        ("quote: ''", "field 'source.quote': quote must be one ASCII character other than a line break, got ''."),
        ('escape: "\\n"', "field 'source.escape': escape must be one ASCII character other than a line break, got '\\n'."),
        ("skip_rows: -1", "field 'source.skip_rows': got -1; input should be greater than or equal to 0."),
        ("decimal: ';'", "field 'source.decimal': got ';'; allowed: ., ,."),
        (
            "decimal: ',', delimiter: ','",
            'field \'source\': decimal "," needs another delimiter, such as ";", since the comma already separates fields.',
        ),
        ("delimiter: '|', quote: '|'", "field 'source': the delimiter must differ from quote and escape."),
        ("format: tsv, quote: \"\\t\"", "field 'source': the delimiter must differ from quote and escape."),
        ("quote: '«'", "field 'source.quote': quote must be one ASCII character other than a line break, got '«'."),
        ("escape: '\"'", "field 'source': escape equal to quote is the default (a doubled quote); leave escape out."),
        (
            "format: parquet, header: false",
            "field 'source': header is read only for delimited text (format csv, tsv or auto), not parquet.",
        ),
        (
            "format: jsonl, skip_rows: 1, null_values: [NA]",
            "field 'source': null_values, skip_rows are read only for delimited text (format csv, tsv or auto), not jsonl.",
        ),
    ],
)
def test_a_bad_reading_option_is_named_with_its_dataset_and_field(config_error, tmp_path, source, problem):
    error = config_error(_orders(source))

    assert error.details == [f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', {problem}"]
