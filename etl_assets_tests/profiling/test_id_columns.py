"""One rule says which column names read as ids; profiling's candidates and semantic types follow it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.profiling.id_columns import looks_like_id
from etl_assets.profiling.profiler import profile_parquet

ID_NAMES = ["id", "ID", "Id", "customer_id", "CUSTOMER_ID", "customerId", "CustomerID", "order-id", "order id", "user2ID", "_id"]
OTHER_NAMES = ["paid", "PAID", "Paid", "valid", "void", "Void", "VOID", "grid", "squid", "rapid", "idle", "identity", "ids", "", "_"]


@pytest.mark.parametrize("name", ID_NAMES)
def test_names_ending_in_the_word_id_look_like_ids(name):
    assert looks_like_id(name)


@pytest.mark.parametrize("name", OTHER_NAMES)
def test_words_that_merely_end_in_id_do_not(name):
    assert not looks_like_id(name)


def test_paid_valid_and_void_are_neither_ranked_as_keys_nor_typed_as_ids(tmp_path):
    path = tmp_path / "window.parquet"
    rows = range(100)
    pq.write_table(pa.table({"code": [f"c{i}" for i in rows], "paid": list(rows), "valid": list(rows), "void": list(rows)}), path)
    profile = profile_parquet(path)
    assert profile.key_candidates[:4] == [["code"], ["paid"], ["valid"], ["void"]], "column order, as no name is an id"
    assert {c.name: c.semantic_type for c in profile.columns if c.name != "code"} == {"paid": None, "valid": None, "void": None}
