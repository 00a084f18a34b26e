"""Model replies for the LLM workflow's tests: a script that works, and ways a script can be wrong or hostile."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from etl_assets.config.models import DatasetConfig
from etl_assets.profiling.profiler import profile_parquet
from etl_assets.scriptgen.prompt import CONTRACT_SCAFFOLD
from etl_assets_tests.scriptgen.builders import arrival, write_upload

SIGNUP_COLUMNS = ["Customer ID", "Email", "Signup Date"]
SIGNUPS_TRANSFORM = {
    "generator": "llm",
    "requirements": "Lower-case the emails.",
    "columns": {
        "customer_id": {"from": "Customer ID", "type": "integer"},
        "email": {"from": "Email", "type": "string", "apply": ["trim", "lower"]},
        "signup_date": {"from": "Signup Date", "type": "date"},
    },
}
GOOD_SHAPE = '''    return source.project(
        'TRY_CAST("Customer ID" AS BIGINT) AS customer_id, lower(trim("Email")) AS email, '
        'TRY_CAST("Signup Date" AS DATE) AS signup_date, _source_file, _source_row, _arrived_at'
    )'''


def script_with_shape(body: str, preamble: str = "") -> str:
    """The contract's harness with shape() filled in, as a model would reply, in a ```python block."""
    code = CONTRACT_SCAFFOLD.replace(
        "    ...  # write this: clean, type and compute the target columns; keep the lineage columns as they are", body
    )
    return f"Here is the script.\n```python\n{preamble}{code}```\n"


GOOD = script_with_shape(GOOD_SHAPE)
# runs, but its output misses a target column: the dry run must catch it
MISSING_COLUMN = script_with_shape('''    return source.project('TRY_CAST("Customer ID" AS BIGINT) AS customer_id, _source_file, _source_row, _arrived_at')''')
# fails at run time on a column the upload does not have
WRONG_COLUMN = script_with_shape('''    return source.project('"Customer Number" AS customer_id, _source_file, _source_row, _arrived_at')''')
POLICY_BREAKING = script_with_shape(GOOD_SHAPE, preamble="import os\n")


def signups_dataset(responses_file: Path, sandbox: dict | None = None, **llm: object) -> DatasetConfig:
    transform = {**SIGNUPS_TRANSFORM, "llm": {"provider": "scripted", "responses_file": str(responses_file), **llm}}
    if sandbox:
        transform["sandbox"] = sandbox
    return DatasetConfig.model_validate(
        {"name": "signups", "source": {"path": "/landing/signups"}, "transform": transform, "load": {"table": "SIGNUPS"}}
    )


def write_replies(path: Path, replies: list[str]) -> Path:
    path.write_text(json.dumps(replies), encoding="utf-8")
    return path


def signups_upload(path: Path, rows: int = 50, extra_columns: tuple[str, ...] = ()) -> Path:
    """An upload of `rows` signups, every value text, as the upload stage writes it."""
    records = [
        {
            "Customer ID": f"{1000 + n}",
            "Email": f"  User{n}@Example.COM ",
            "Signup Date": f"2026-11-{1 + n % 28:02d}",
            **{name: f"x{n}" for name in extra_columns},
            "_source_file": "signups.csv",
            "_source_row": n + 2,
            "_arrived_at": arrival(9),
        }
        for n in range(rows)
    ]
    return write_upload(path, records, [*SIGNUP_COLUMNS, *extra_columns])


def profiled(upload: Path):
    return profile_parquet(upload)


def output_schema_of(table: pa.Table) -> dict[str, str]:
    return {field.name: str(field.type) for field in table.schema}
