"""Transform targets and load columns are refused at validation when the load would drop or mix them up."""

from __future__ import annotations

import pytest

RESERVED = (
    "time_window_start", "time_window_end", "_run_id", "_loaded_at",
    "_source_file", "_source_row", "_arrived_at", "_staged_row", "_failed_rules",
)


def _orders(columns: str, load: str = "table: ORDERS") -> str:
    return f"datasets:\n  orders:\n    source: {{path: /x}}\n    transform: {{columns: {{{columns}}}}}\n    load: {{{load}}}\n"


@pytest.mark.parametrize("target", [*RESERVED, "_RUN_ID", "Time_Window_Start"])
def test_a_target_named_like_a_column_the_pipeline_adds_is_refused(config_error, tmp_path, target):
    error = config_error(_orders(f"order_id: {{from: Order ID}}, {target}: {{from: Extra}}"))

    assert error.details == [
        f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', field 'transform.columns.{target}': "
        f"{target!r} is reserved for a column the pipeline adds ({', '.join(RESERVED)}), "
        "so a target of that name would be dropped or overwritten; rename the target."
    ]


def test_targets_that_differ_only_by_case_are_refused(config_error):
    error = config_error(_orders("id: {from: Id, type: integer}, name: {from: Name}, ID: {from: Legacy ID}"))

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders', field 'transform.columns': the targets 'id' and 'ID' differ only by "
        "case, and Snowflake's COPY matches columns without regard to case, so one would load the other's values; "
        "rename one of them."
    )


def test_targets_with_distinct_names_load(load_text):
    config = load_text(_orders("order_id: {from: Order ID}, run_id: {from: Run}, source_file: {from: File}"))

    assert list(config.datasets["orders"].transform.columns) == ["order_id", "run_id", "source_file"]


@pytest.mark.parametrize("field", ["keys: [order_id, order_no]", "sequence_by: updated"])
def test_load_columns_must_be_targets_or_columns_the_loader_adds(config_error, field):
    error = config_error(_orders("order_id: {from: Order ID}, email: {from: Email}", f"table: ORDERS, {field}"))
    name, column = ("keys", "order_no") if field.startswith("keys") else ("sequence_by", "updated")

    assert str(error).endswith(
        f"etl_config.yaml: dataset 'orders', field 'load.{name}': unknown column {column!r}; use one of the "
        "transform's targets (email, order_id) or time_window_start, time_window_end, _source_file, _source_row, "
        "_arrived_at."
    )


def test_load_columns_may_be_targets_window_or_lineage_columns(load_text):
    config = load_text(
        _orders(
            "order_id: {from: Order ID}, updated: {from: Updated, type: timestamp}",
            "table: ORDERS, keys: [order_id, time_window_start, _source_file], sequence_by: updated",
        )
    )

    assert config.datasets["orders"].load.keys == ["order_id", "time_window_start", "_source_file"]
    assert config.datasets["orders"].load.sequence_by == "updated"


def test_load_columns_are_not_checked_without_declared_targets(load_text):
    config = load_text(
        "datasets:\n  raw: {source: {path: /x}, load: {table: RAW, keys: [anything], sequence_by: whenever}}\n"
    )

    assert (config.datasets["raw"].load.keys, config.datasets["raw"].load.sequence_by) == (["anything"], "whenever")
