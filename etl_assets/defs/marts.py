"""A daily-revenue mart: a pandas asset that reads the loaded orders table through dagster-snowflake-pandas."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from etl_assets.config.columns import WINDOW_START
from etl_assets.defs.partitions import windows_in_run
from etl_assets.defs.resources import SnowflakeWarehouse
from etl_assets.ingest.windows import TimeWindow
from etl_assets.markdown import markdown_table
from etl_assets.sql_text import literal, quote_identifier
from etl_assets.warehouse.connections import LOCAL_CONNECTION

PANDAS_IO_MANAGER_KEY = "snowflake_pandas_io_manager"
DAILY_REVENUE_KEY = dg.AssetKey(["marts", "daily_revenue"])
REVENUE_STATUSES = ("paid", "shipped")


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


def daily_revenue(orders: pd.DataFrame, windows: list[TimeWindow]) -> pd.DataFrame:
    """One row per window: its orders, and the net revenue of those paid or shipped."""
    starts = pd.to_datetime(orders[WINDOW_START], utc=True)
    earning = orders["status"].isin(REVENUE_STATUSES)
    rows = []
    for window in windows:
        in_window = starts == pd.Timestamp(window.start)
        revenue = orders.loc[in_window & earning, "net_amount"].astype(float).sum()
        rows.append({"window": window.key, "orders": int(in_window.sum()), "net_revenue": round(float(revenue), 2)})
    return pd.DataFrame(rows, columns=["window", "orders", "net_revenue"])


def build_daily_revenue_mart(orders_table_key: dg.AssetKey, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`marts/daily_revenue`, reading the orders table for the same windows as a pandas DataFrame."""

    @dg.asset(
        key=DAILY_REVENUE_KEY,
        group_name="marts",
        kinds={"pandas", "snowflake"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        ins={"orders": dg.AssetIn(key=orders_table_key, input_manager_key=PANDAS_IO_MANAGER_KEY)},
        description="Orders and net revenue of paid or shipped orders per window, read with dagster-snowflake-pandas.",
    )
    def daily_revenue_mart(context: dg.AssetExecutionContext, orders: pd.DataFrame) -> dg.MaterializeResult:
        """Orders and net revenue per window; the emulator cannot store a DataFrame (write_pandas), so it is metadata."""
        mart = daily_revenue(orders, windows_in_run(context))
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(mart),
                "orders": int(mart["orders"].sum()),
                "net_revenue": round(float(mart["net_revenue"].sum()), 2),
                "preview": dg.MetadataValue.md(markdown_table(list(mart.columns), mart.values.tolist())),
            }
        )

    return daily_revenue_mart
