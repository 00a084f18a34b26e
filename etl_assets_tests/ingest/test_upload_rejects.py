"""A window's rejects are counted, kept and never silent; short rows load; source headers are never dropped."""

import json
import re
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import PartitionsConfig
from etl_assets.errors import IngestError
from etl_assets.ingest.upload import FileRead, ingest_window, rejects_path_for, upload_path
from etl_assets.ingest.windows import window_from_key
from etl_assets.paths import ProjectPaths

from .helpers import dataset, land

DAY = window_from_key("2026-11-20", PartitionsConfig())
MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _landing(tmp_path):
    paths = ProjectPaths(tmp_path / "home")
    return paths, paths.landing / "orders"


def test_a_release_calendar_with_omitted_trailing_fields_loads_every_row(tmp_path):
    paths, landing = _landing(tmp_path)
    rows = [f"{index},release {index},2026-01-{index % 28 + 1:02d}" + (",2026-12-31" if index % 7 == 0 else "") for index in range(44)]
    land(landing, "calendar.csv", "id,name,released,retired\n" + "\n".join(rows) + "\n", MORNING)

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path)
    assert table.num_rows == 44 and result.reject_count == 0
    assert table.column("retired").to_pylist()[:8] == ["2026-12-31"] + [None] * 6 + ["2026-12-31"]
    assert table.column("released").to_pylist()[1] == "2026-01-02"
    assert result.file_reads == [FileRead("calendar.csv", 44, 0, "ascii", 37, {})]


def test_rejects_above_max_reject_percent_fail_the_window_with_one_sentence(tmp_path):
    paths, landing = _landing(tmp_path)
    land(landing, "good.csv", "id,name\n" + "".join(f"{index},ok\n" for index in range(30)), MORNING)
    land(landing, "bad.csv", 'id,name\n1,a,extra\n2,"open\n3,b\n4,c,d\n', NOON)

    with pytest.raises(IngestError) as raised:
        ingest_window(dataset(landing), paths, DAY)

    rejects_path = rejects_path_for(paths, "orders", DAY.key)
    message = str(raised.value)
    assert message.startswith("'bad.csv' has 3 unreadable rows (3 of 34 rows of window 2026-11-20, 8.8% > source.max_reject_percent 5%)")
    assert f"listed with their lines in {rejects_path}" in message
    assert message.endswith("fix the file and upload it again under the same name, or raise source.max_reject_percent.")
    assert len(re.findall(r"[.;:] [A-Z]", message)) == 0, "one sentence"
    kept = [json.loads(line) for line in rejects_path.read_text().splitlines()]
    assert [(reject["source_file"], reject["line"], reject["raw"]) for reject in kept] == [
        ("bad.csv", 2, "1,a,extra"),
        ("bad.csv", 3, '2,"open'),
        ("bad.csv", 5, "4,c,d"),
    ]
    assert not upload_path(paths, "orders", DAY.key).exists()


def test_rejects_at_the_limit_load_the_rest_and_are_reported_per_file(tmp_path):
    paths, landing = _landing(tmp_path)
    land(landing, "a.csv", "id,name\n" + "".join(f"{index},ok\n" for index in range(19)) + "19,x,y\n", MORNING)

    result = ingest_window(dataset(landing), paths, DAY)

    assert (result.row_count, result.reject_count) == (19, 1)
    assert result.file_reads == [FileRead("a.csv", 19, 1, "ascii", 0, {})]
    [(name, reject)] = result.reject_examples
    assert (name, reject.line, reject.raw) == ("a.csv", 21, "19,x,y")
    with pytest.raises(IngestError, match="'a.csv' has 1 unreadable row "):
        ingest_window(dataset(landing, max_reject_percent=4.9), paths, DAY)


def test_source_headers_named_like_pipeline_columns_are_renamed_not_dropped(tmp_path):
    paths, landing = _landing(tmp_path)
    content = "id,Time Window Start,source_time_window_start,_loaded_at\n1,2020-01-01,kept,yes\n"
    land(landing, "a.csv", content, MORNING)

    result = ingest_window(dataset(landing), paths, DAY)

    table = pq.read_table(result.output_path)
    assert table.drop_columns(["_arrived_at"]).to_pylist() == [
        {
            "id": "1",
            "source_time_window_start_2": "2020-01-01",
            "source_time_window_start": "kept",
            "loaded_at": "yes",
            "_source_file": "a.csv",
            "_source_row": 2,
        }
    ]
    assert result.file_reads[0].renamed == {"source_time_window_start_2": "Time Window Start"}


def test_source_encoding_is_used_for_every_file_and_reported(tmp_path):
    paths, landing = _landing(tmp_path)
    land(landing, "pl.csv", "id,city\n1,Łódź\n".encode("cp1250"), MORNING)

    result = ingest_window(dataset(landing, encoding="cp1250"), paths, DAY)

    assert pq.read_table(result.output_path).column("city").to_pylist() == ["Łódź"]
    assert result.file_reads[0].encoding == "cp1250"
