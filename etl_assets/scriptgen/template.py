"""The deterministic template generator: a transform spec in, a readable DuckDB ETL script out (docs/architecture.md §7)."""

from __future__ import annotations

from etl_assets.column_types import SCALAR_TYPES, duckdb_type, normalised_type
from etl_assets.config.columns import LINEAGE_COLUMNS
from etl_assets.config.models import ColumnSpec, TransformConfig
from etl_assets.errors import ScriptError
from etl_assets.ingest.names import normalise_column_name
from etl_assets.ingest.nested import SEPARATOR
from etl_assets.scriptgen.expressions import (
    ExpressionPolicyError,
    parse_expression,
    referenced_columns,
    render_expression,
)
from etl_assets.local_duckdb import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_VARIABLE
from etl_assets.scriptgen.script_skeleton import SCRIPT_SKELETON
from etl_assets.sql_text import quote_identifier

GENERATOR_VERSION = "template-6"
# Scripts of these versions take one --input/--output pair only; later ones take many (docs/architecture.md §7).
SINGLE_PAIR_VERSIONS = frozenset({"template-1"})


def render_template_script(dataset_name: str, transform: TransformConfig | None, source_types: dict[str, str]) -> str:
    """The script for one dataset; the same inputs always give byte-identical code."""
    source = _normalised_source_types(dataset_name, source_types)
    if transform is not None and transform.columns:
        columns = dict(transform.columns)
    else:
        columns = {name: ColumnSpec(type=logical_type) for name, logical_type in source.items()}
    plan = _ColumnPlan(dataset_name, source, columns)
    deduplicate_on = _deduplication_keys(dataset_name, transform, columns)
    return SCRIPT_SKELETON.substitute(
        dataset=dataset_name,
        dataset_literal=repr(dataset_name),
        generator_version=GENERATOR_VERSION,
        required_input_columns=_python_list([*plan.input_columns, *LINEAGE_COLUMNS]),
        typed_columns=_python_list(plan.typed_lines),
        output_columns=_python_list(plan.output_lines),
        lineage_columns=_python_list([quote_identifier(name) for name in LINEAGE_COLUMNS]),
        deduplicate_on=_python_list([quote_identifier(name) for name in deduplicate_on]),
        memory_variable_literal=repr(MEMORY_LIMIT_VARIABLE),
        memory_limit_literal=repr(DEFAULT_MEMORY_LIMIT),
    )


def typed_value(sql: str, logical_type: str) -> str:
    """`sql` cast to the logical type, NULL when the value does not fit."""
    target = duckdb_type(logical_type)
    if target == "TIMESTAMP":
        # Through TIMESTAMPTZ so a written offset (+02:00) is honoured instead of dropped; the session is UTC.
        return f"TRY_CAST(TRY_CAST({sql} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"TRY_CAST({sql} AS {target})"


class _ColumnPlan:
    """The typed (step 1) and output (step 2) column lines of one script, and the upload columns they read."""

    def __init__(self, dataset_name: str, source: dict[str, str], columns: dict[str, ColumnSpec]) -> None:
        self.dataset_name = dataset_name
        self.source = source
        self.typed_lines: list[str] = []
        self.output_lines: list[str] = []
        self.input_columns: list[str] = []
        self._expression_inputs: list[str] = []
        clashing = [name for name in columns if name in LINEAGE_COLUMNS]
        if clashing:
            raise ScriptError(
                f"Dataset '{dataset_name}': the target column '{clashing[0]}' clashes with a lineage column; "
                f"rename it in etl_config.yaml (reserved: {', '.join(LINEAGE_COLUMNS)})."
            )
        self._copied_names = [name for name, spec in columns.items() if spec.expr is None]
        for name, spec in columns.items():
            if spec.expr is None:
                self._add_copied(name, spec)
        for name, spec in columns.items():
            if spec.expr is None:
                self.output_lines.append(quote_identifier(name))
            else:
                self.output_lines.append(self._expression_line(name, spec.expr, spec.type))

    def _add_copied(self, name: str, spec: ColumnSpec) -> None:
        source_name = self._source_column(name, spec.from_ or name, "reads from")
        value = quote_identifier(source_name)
        if spec.apply and self.source[source_name] != "string":
            value = f"CAST({value} AS VARCHAR)"
        for text_function in spec.apply:
            value = f"{text_function.upper()}({value})"
        self.typed_lines.append(f"{typed_value(value, spec.type)} AS {quote_identifier(name)}")

    def _expression_line(self, name: str, expression: str, logical_type: str) -> str:
        try:
            tree = parse_expression(expression)
        except ExpressionPolicyError as error:
            raise ScriptError(
                f"Dataset '{self.dataset_name}', column '{name}': the expression {expression!r} {error}; "
                "write one pure scalar expression over source columns (operators, CASE, CAST/TRY_CAST and "
                "functions such as COALESCE, NULLIF, ROUND, ABS, LOWER, TRIM, CONCAT, SUBSTRING)."
            ) from error
        inputs = {reference: self._expression_input(name, reference) for reference in referenced_columns(tree)}
        return f"{typed_value(render_expression(tree, inputs.__getitem__), logical_type)} AS {quote_identifier(name)}"

    def _expression_input(self, target: str, reference: str) -> str:
        """What an expression reads: a copied target column, a lineage column, or a source column typed as profiled."""
        for candidate in (reference, normalise_column_name(reference)):
            if candidate in self._copied_names or candidate in LINEAGE_COLUMNS:
                return candidate
        source_name = self._source_column(target, reference, "has an expression that reads")
        if source_name not in self._expression_inputs:
            self._expression_inputs.append(source_name)
            typed = typed_value(quote_identifier(source_name), self.source[source_name])
            self.typed_lines.append(f"{typed} AS {quote_identifier(source_name)}")
        return source_name

    def _source_column(self, target: str, wanted: str, verb: str) -> str:
        """The upload column that `wanted` names, given as the original header or the normalised name."""
        for candidate in (wanted, normalise_column_name(wanted)):
            if candidate in self.source:
                if candidate not in self.input_columns:
                    self.input_columns.append(candidate)
                return candidate
        raise ScriptError(
            f"Dataset '{self.dataset_name}': the column '{target}' {verb} '{wanted}', which is not a source column; "
            f"use one of {', '.join(self.source) or '(none)'} in etl_config.yaml."
        )


def _normalised_source_types(dataset_name: str, source_types: dict[str, str]) -> dict[str, str]:
    """Profiled types keyed by upload column name, lineage left out; the profiler may key by header or by name."""
    normalised: dict[str, str] = {}
    for header, logical_type in source_types.items():
        if header in LINEAGE_COLUMNS:
            continue
        name = passthrough_column_name(header)
        try:
            normalised[name] = normalised_type(logical_type)
        except ValueError as error:
            raise ScriptError(
                f"Dataset '{dataset_name}': the profiler typed the source column '{header}' as {logical_type!r}, "
                f"which the template does not know; expected one of {', '.join(SCALAR_TYPES)} or decimal(p,s)."
            ) from error
    return normalised


def passthrough_column_name(header: str) -> str:
    """The output column the template names after an upload column when no `transform.columns` are declared."""
    # a flattened struct leaf (address__city) keeps its separator, which normalising one name would merge
    return SEPARATOR.join(normalise_column_name(part) for part in header.split(SEPARATOR))


def _deduplication_keys(
    dataset_name: str, transform: TransformConfig | None, columns: dict[str, ColumnSpec]
) -> list[str]:
    """The output columns to deduplicate on; passthrough keys may be given as headers."""
    if transform is None:
        return []
    keys = [key if key in columns else normalise_column_name(key) for key in transform.deduplicate_on]
    unknown = [key for key in keys if key not in columns]
    if unknown:
        raise ScriptError(
            f"Dataset '{dataset_name}': deduplicate_on names {unknown}, which are not output columns; "
            f"use some of {', '.join(columns)}."
        )
    return keys


def _python_list(items: list[str]) -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f"    {item!r},\n" for item in items) + "]"
