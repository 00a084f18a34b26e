import pytest

from etl_assets.ingest.names import normalise_column_name, normalise_column_names, rename_reserved


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Order ID", "order_id"),
        ("naïve", "naive"),
        ('"; drop table x; --', "drop_table_x"),
        ("GrossAmount", "gross_amount"),
        ("HTTPStatus Code", "http_status_code"),
        ("  Total (EUR) ", "total_eur"),
        ("2nd Address", "c_2nd_address"),
        ("_source_file", "source_file"),
        ("", "column"),
    ],
)
def test_normalise_column_name(header, expected):
    assert normalise_column_name(header) == expected


def test_header_row_gets_positions_for_blanks_and_suffixes_for_repeats():
    headers = ["Email", "", "email", "E-mail", "Email", "email_2", "  "]
    assert normalise_column_names(headers) == ["email", "column_2", "email_2", "e_mail", "email_3", "email_2_2", "column_7"]


def test_names_the_pipeline_adds_are_renamed_uniquely():
    names, renamed = rename_reserved(["id", "time_window_start", "source_time_window_start", "_run_id", "time_window_end"])
    assert names == ["id", "source_time_window_start_2", "source_time_window_start", "source_run_id", "source_time_window_end"]
    assert renamed == {
        "source_time_window_start_2": "time_window_start",
        "source_run_id": "_run_id",
        "source_time_window_end": "time_window_end",
    }
