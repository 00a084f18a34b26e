"""Names the pipeline owns: the columns it adds to a dataset's rows and the tables it keeps beside a dataset's table.

No source column, transform target or dataset table may take one of them.
"""

from __future__ import annotations

WINDOW_START, WINDOW_END = WINDOW_COLUMNS = ("time_window_start", "time_window_end")
# which run loaded a row, and when
RUN_ID, LOADED_AT = LOAD_COLUMNS = ("_run_id", "_loaded_at")
# which file and line a row came from, and when that file arrived
SOURCE_FILE, SOURCE_ROW, ARRIVED_AT = LINEAGE_COLUMNS = ("_source_file", "_source_row", "_arrived_at")
# a staged row's number during a load, and the rules a quarantined row failed
STAGED_ROW, FAILED_RULES = INTERNAL_COLUMNS = ("_staged_row", "_failed_rules")
RESERVED_COLUMNS = (*WINDOW_COLUMNS, *LOAD_COLUMNS, *LINEAGE_COLUMNS, *INTERNAL_COLUMNS)
# the load ledger, one per target schema
LEDGER_TABLE = "ETL_ASSETS_LOADS"
# <TABLE>_QUARANTINE holds a dataset's quarantined rows
QUARANTINE_SUFFIX = "_QUARANTINE"
# Types in the vocabulary of transform.columns, for rules that look at lineage.
LINEAGE_TYPES = {"_source_file": "string", "_source_row": "integer", "_arrived_at": "timestamp"}
# What a load may key or order on besides the transform's targets.
LOADABLE_ADDED_COLUMNS = (*WINDOW_COLUMNS, *LINEAGE_COLUMNS)


def is_reserved(name: str) -> bool:
    """Whether `name` is one of RESERVED_COLUMNS in any case; COPY matches columns without regard to case."""
    return name.lower() in RESERVED_COLUMNS
