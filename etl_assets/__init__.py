"""etl_assets: uploaded files to profiled, quality-checked, time-partitioned Snowflake tables."""


def __getattr__(name: str):
    # Lazy, so `import etl_assets` (done by every domain package) stays free of Dagster; dg resolves
    # `type: etl_assets.EtlAssetsComponent` through this.
    if name == "EtlAssetsComponent":
        from etl_assets.defs.component import EtlAssetsComponent

        return EtlAssetsComponent
    raise AttributeError(f"module 'etl_assets' has no attribute {name!r}")
