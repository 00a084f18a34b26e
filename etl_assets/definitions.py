"""The code location: Definitions assembled from etl_config.yaml (ETL_ASSETS_CONFIG overrides the path)."""

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions

defs = build_definitions(load_config())
