"""etl_config.yaml: the pydantic models and the loader that reads, layers and validates the file."""

from etl_assets.config.loader import CONFIG_ENV_VAR, default_config_path, load_config
from etl_assets.config.models import DatasetConfig, ProjectConfig
from etl_assets.config.problems import ConfigFileError

__all__ = ["CONFIG_ENV_VAR", "ConfigFileError", "DatasetConfig", "ProjectConfig", "default_config_path", "load_config"]
