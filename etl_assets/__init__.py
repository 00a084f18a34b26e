"""etl_assets: uploaded files to profiled, quality-checked, time-partitioned Snowflake tables."""
