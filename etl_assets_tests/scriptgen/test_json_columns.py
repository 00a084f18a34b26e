"""JSON columns keep Arrow's JSON type through the generated script, so the transformed Parquet says they are JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.config.models import TransformConfig
from etl_assets.scriptgen.template import render_template_script
from etl_assets_tests.scriptgen.builders import arrival, run_ok, save_code

pytestmark = pytest.mark.slow

LINEAGE = {"_source_file": ["e.parquet"] * 3, "_source_row": [1, 2, 3], "_arrived_at": [arrival(8)] * 3}
LINEAGE_TYPES = [("_source_file", pa.string()), ("_source_row", pa.int64()), ("_arrived_at", pa.timestamp("us", tz="UTC"))]


def _upload(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns | {name: pa.array(values, kind) for (name, kind), values in zip(LINEAGE_TYPES, LINEAGE.values())}), path)
    return path


def test_passthrough_json_and_flattened_columns_keep_their_type_and_text(tmp_path: Path) -> None:
    tags = ['["home","work"]', "[]", None]
    upload = _upload(tmp_path / "in.parquet", {
        "id": pa.array(["1", "2", "3"]),
        "address__city": pa.array(["Paris", None, "Oslo"]),
        "tags": pa.array(tags, pa.json_()),
    })
    source_types = {"id": "integer", "address__city": "string", "tags": "json"}
    script = save_code(tmp_path, render_template_script("events", None, source_types))

    _, output = run_ok(script, upload, tmp_path / "out.parquet")

    assert output.schema == pa.schema([("id", pa.int64()), ("address__city", pa.string()), ("tags", pa.json_()), *LINEAGE_TYPES])
    assert output.column("tags").to_pylist() == tags
    assert output.column("address__city").to_pylist() == ["Paris", None, "Oslo"]
    assert "(JSON)" in str(pq.read_metadata(tmp_path / "out.parquet").schema), "Parquet keeps the JSON logical type"


def test_a_text_column_declared_json_keeps_valid_json_and_nulls_the_rest(tmp_path: Path) -> None:
    upload = _upload(tmp_path / "in.parquet", {"raw": pa.array(['{"a": [1, 2.50]}', "not json", None])})
    transform = TransformConfig.model_validate({"columns": {"payload": {"from": "raw", "type": "json"}}})
    script = save_code(tmp_path, render_template_script("events", transform, {"raw": "string"}))

    _, output = run_ok(script, upload, tmp_path / "out.parquet")

    assert output.schema.field("payload").type == pa.json_()
    payload = output.column("payload").to_pylist()
    assert (json.loads(payload[0]), payload[1:]) == ({"a": [1, 2.5]}, [None, None])
