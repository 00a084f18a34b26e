"""The platform as a Dagster Component: `type: etl_assets.EtlAssetsComponent` in any dg project's defs.yaml."""

from dataclasses import dataclass

import dagster as dg

from etl_assets.config.loader import load_config
from etl_assets.defs import build_definitions


@dataclass
class EtlAssetsComponent(dg.Component, dg.Resolvable):
    """Every dataset's chain, jobs, sensors and schedules from one etl_config.yaml.

    `config` is relative to the folder of the defs.yaml that declares the component.
    """

    config: str = "etl_config.yaml"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_definitions(load_config(context.path / self.config))
