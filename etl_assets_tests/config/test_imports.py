"""Each module of the config loader and of what it calls imports first in a fresh interpreter, with no import cycle."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import etl_assets.config

MODULES = [
    *(f"etl_assets.config.{module.name}" for module in pkgutil.iter_modules(etl_assets.config.__path__)),
    "etl_assets.quality.validation",
    "etl_assets.ingest.partitioning",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first_in_a_fresh_interpreter(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
