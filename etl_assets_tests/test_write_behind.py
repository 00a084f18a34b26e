"""Writes behind the reader: in order, and a failed write is raised, not lost."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.write_behind import WriteBehind


def test_writes_run_in_order_and_a_failed_write_is_raised_when_the_block_ends(tmp_path):
    schema = pa.schema([("n", pa.int64())])
    with pq.ParquetWriter(tmp_path / "a.parquet", schema) as writer:
        with pytest.raises(ValueError, match="schema"), WriteBehind() as behind:
            for start in range(0, 50, 10):
                behind.write(writer, pa.table({"n": pa.array(range(start, start + 10), pa.int64())}))
            behind.write(writer, pa.table({"other": pa.array(["x"])}))  # not the file's schema: fails on the worker

    assert pq.read_table(tmp_path / "a.parquet").column("n").to_pylist() == list(range(50))
