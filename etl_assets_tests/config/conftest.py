"""Helpers for config tests: write a config file into tmp_path and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from etl_assets.config.loader import load_config
from etl_assets.config.models import ProjectConfig
from etl_assets.config.problems import ConfigFileError


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "etl_config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load_text(write_config: Callable[[str], Path]) -> Callable[..., ProjectConfig]:
    def load(text: str, environ: dict[str, str] | None = None) -> ProjectConfig:
        return load_config(write_config(text), environ=environ or {})

    return load


@pytest.fixture
def config_error(load_text: Callable[..., ProjectConfig]) -> Callable[..., ConfigFileError]:
    def error(text: str, environ: dict[str, str] | None = None) -> ConfigFileError:
        with pytest.raises(ConfigFileError) as caught:
            load_text(text, environ)
        return caught.value

    return error
