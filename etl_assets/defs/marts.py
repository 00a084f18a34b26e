"""Each configured mart as an asset over its sources' table assets: an SQL mart writes its table in Snowflake, a
function mart reads its sources through dagster-snowflake-pandas and reports the DataFrame it returns."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from etl_assets.config.columns import WINDOW_START
from etl_assets.config.mart_sources import mart_sources, mart_table_name
from etl_assets.config.marts import MartConfig, import_function
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.defs.partitions import partitions_def_for, windows_in_run
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.errors import EtlAssetsError
from etl_assets.markdown import markdown_table
from etl_assets.sql_text import literal, quote_identifier
from etl_assets.warehouse.connections import LOCAL_CONNECTION
from etl_assets.warehouse.marts import MartTable, MartWrite, replace_mart_windows, source_table

PANDAS_IO_MANAGER_KEY = "snowflake_pandas_io_manager"
MARTS_GROUP = "marts"


def window_partition_expr(timezone: str) -> str:
    """The `partition_expr` of a loaded table: its window start as wall-clock time in the partitions' time zone."""
    # dagster-snowflake compares it with naive 'YYYY-MM-DD HH:MM:SS' bounds, which Snowflake would read in the
    # session's TIMEZONE (America/Los_Angeles by default) against the TIMESTAMP_TZ column, shifting every window.
    return f"CONVERT_TIMEZONE({literal(timezone)}, {quote_identifier(WINDOW_START)})::TIMESTAMP_NTZ"


class WarehouseDbClient:
    """dagster-snowflake's SnowflakeDbClient, connecting through SnowflakeWarehouse instead of static credentials."""

    def __init__(self, warehouse: SnowflakeWarehouse, connection_name: str):
        # Imported here: dagster-snowflake pulls in snowflake.core (about 4 s), which code-location loads never need.
        from dagster_snowflake.snowflake_io_manager import SnowflakeDbClient

        self._snowflake_client = SnowflakeDbClient
        self._warehouse = warehouse
        self._connection_name = connection_name

    @contextmanager
    def connect(self, context: Any, table_slice: Any) -> Iterator:
        with self._warehouse.get_connection(self._connection_name) as connection:
            # dagster-snowflake opens its sessions in the slice's database and schema; the emulator needs a current
            # database too, for the functions it rewrites casts such as ::TIMESTAMP_NTZ into.
            connection.cursor().execute(f"USE SCHEMA {table_slice.database}.{table_slice.schema}")
            yield connection

    def __getattr__(self, name: str) -> Any:
        # SQL building (SELECT of a table slice, schema creation, slice deletion) stays dagster-snowflake's own.
        return getattr(self._snowflake_client, name)


class SnowflakePandasWarehouseIOManager(dg.ConfigurableIOManagerFactory):
    """SnowflakePandasIOManager's pandas handler and SQL over a SnowflakeWarehouse connection (the local emulator by default)."""

    warehouse: SnowflakeWarehouse
    connection: str = Field(default=LOCAL_CONNECTION, description="SnowflakeWarehouse connection name")
    database: str = Field(description="Database of the tables; an asset key `.../<schema>/<table>` names the rest")

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        from dagster._core.storage.db_io_manager import DbIOManager
        from dagster_snowflake_pandas import SnowflakePandasIOManager

        return DbIOManager(
            type_handlers=[_quiet_pandas_handler()],
            db_client=WarehouseDbClient(self.warehouse, self.connection),
            io_manager_name="SnowflakePandasIOManager",
            database=self.database,
            default_load_type=SnowflakePandasIOManager.default_load_type(),
        )


def _quiet_pandas_handler() -> Any:
    """dagster-snowflake-pandas's DataFrame handler, reading without pandas' warning that a DBAPI connection other
    than sqlite3's is "not tested": the Snowflake connector's is the one it reads through, on every mart run."""
    from dagster_snowflake_pandas import SnowflakePandasTypeHandler

    class QuietPandasTypeHandler(SnowflakePandasTypeHandler):
        def load_input(self, *args: Any, **kwargs: Any) -> Any:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="pandas only supports SQLAlchemy connectable", category=UserWarning)
                return super().load_input(*args, **kwargs)

    return QuietPandasTypeHandler()


def build_mart(mart: MartConfig, config: ProjectConfig) -> dg.AssetsDefinition:
    """`marts/<name>`, partitioned like its sources and run for a range of windows at once."""
    sources = mart_sources(mart, config.datasets)
    common = dict(
        key=dg.AssetKey(mart.asset_key_path),
        group_name=MARTS_GROUP,
        partitions_def=partitions_def_for(sources[0].partitions),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    if mart.sql is not None:
        return _sql_mart(mart, sources, mart_table_name(mart, config.datasets), common)
    return _function_mart(mart, sources, common)


def mart_resources(config: ProjectConfig, warehouse: SnowflakeWarehouse) -> dict[str, dg.ConfigurableIOManagerFactory]:
    """The IO manager each function mart reads its sources through, over its sources' connection and database."""
    resources = {}
    for mart in config.marts.values():
        if mart.function is not None:
            first = mart_sources(mart, config.datasets)[0].warehouse
            resources[pandas_io_manager_key(mart)] = SnowflakePandasWarehouseIOManager(
                warehouse=warehouse, connection=first.connection, database=first.database
            )
    return resources


def pandas_io_manager_key(mart: MartConfig) -> str:
    return f"{PANDAS_IO_MANAGER_KEY}_{mart.name}"


def _sql_mart(mart: MartConfig, sources: list[DatasetConfig], shown: str, common: dict) -> dg.AssetsDefinition:
    first = sources[0].warehouse
    tables = {s.name: source_table(s.warehouse.database, s.warehouse.schema_, s.load.table) for s in sources}
    target = MartTable(first.database, mart.schema_, mart.table_name)

    @dg.asset(
        deps=[dg.AssetKey(source.asset_table_path) for source in sources],
        kinds={"snowflake", "sql"},
        description=mart.description or f"Rows of {shown}, from {', '.join(mart.from_)} by SQL run in Snowflake per window.",
        **common,
    )
    def sql_mart(context: dg.AssetExecutionContext, warehouse: SnowflakeWarehouse) -> dg.MaterializeResult:
        """The mart's SELECT per window, its rows replacing the window's rows in the mart table in one transaction."""
        with warehouse.get_connection(first.connection) as connection:
            written = replace_mart_windows(connection, target, mart.sql, tables, windows_in_run(context))
        return dg.MaterializeResult(metadata=_written_metadata(written, shown))

    return sql_mart


def _written_metadata(written: MartWrite, table: str) -> dict:
    return {
        "dagster/row_count": sum(written.rows_per_window.values()),
        "dagster/table_name": table,
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in written.columns]),
        "rows_per_window": dg.MetadataValue.json(written.rows_per_window),
        "preview": dg.MetadataValue.md(markdown_table([name for name, _ in written.columns], written.preview)),
    }


def _function_mart(mart: MartConfig, sources: list[DatasetConfig], common: dict) -> dg.AssetsDefinition:
    io_manager_key = pandas_io_manager_key(mart)

    @dg.asset(
        ins={s.name: dg.AssetIn(key=dg.AssetKey(s.asset_table_path), input_manager_key=io_manager_key) for s in sources},
        kinds={"snowflake", "pandas"},
        description=mart.description or f"{mart.function} over {', '.join(mart.from_)}, read with dagster-snowflake-pandas.",
        **common,
    )
    def function_mart(context: dg.AssetExecutionContext, **frames: pd.DataFrame) -> dg.MaterializeResult:
        """The mart's function on its sources' rows of the run's windows; the emulator cannot store a DataFrame
        (write_pandas), so its result is metadata."""
        result = import_function(mart.function)(**frames)
        if not isinstance(result, pd.DataFrame):
            raise EtlAssetsError(f"Mart '{mart.name}': {mart.function} returned {type(result).__name__}, not a pandas DataFrame; make it return one.")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(result),
                "preview": dg.MetadataValue.md(markdown_table([str(c) for c in result.columns], result.head(20).values.tolist())),
            }
        )

    return function_mart
