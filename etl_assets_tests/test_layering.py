"""The layering of docs/architecture.md: domain packages know no Dagster, and only defs/ imports defs/."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import etl_assets

DOMAIN_PACKAGES = ("config", "ingest", "profiling", "scriptgen", "quality", "warehouse", "credentials", "compliance")
# `etl_assets.EtlAssetsComponent` for dg's defs.yaml: imported on first access only, so the domain packages
# (which all import `etl_assets`) still load no Dagster, as test_a_domain_package_imports_no_dagster shows
LAZY_REEXPORTS = {"__init__.py: etl_assets.defs.component"}
OUTSIDE_DEFS = ("etl_assets.cli", "etl_assets.cli_credentials", "etl_assets.commands", "etl_assets.script_commands", "etl_assets.demo",
                "etl_assets.retention_commands", "etl_assets.erase_commands")


def modules_of(package: str) -> list[str]:
    found = pkgutil.walk_packages(etl_assets.__path__, prefix="etl_assets.")
    return sorted(info.name for info in found if info.name == package or info.name.startswith(package + "."))


def loaded_after_importing(modules: list[str]) -> set[str]:
    """The module names a fresh interpreter holds once it has imported `modules`."""
    code = f"import importlib, json, sys\nfor name in {modules!r}: importlib.import_module(name)\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(done.stdout))


@pytest.mark.slow
@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_a_domain_package_imports_no_dagster(package):
    loaded = loaded_after_importing(modules_of(f"etl_assets.{package}"))
    assert not {name for name in loaded if name == "dagster" or name.startswith(("dagster.", "dagster_snowflake"))}
    assert not {name for name in loaded if name.startswith("etl_assets.defs")}


@pytest.mark.slow
@pytest.mark.parametrize("module", OUTSIDE_DEFS)
def test_the_cli_and_the_demo_do_not_import_the_dagster_wiring(module):
    assert not {name for name in loaded_after_importing([module]) if name.startswith("etl_assets.defs")}


def test_no_module_outside_defs_imports_it_even_inside_a_function():
    root = Path(etl_assets.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if relative.parts[0] == "defs" or relative.name == "definitions.py":
            continue  # the code location is the one place that assembles the wiring
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{relative}: {name}" for name in names if name.startswith("etl_assets.defs")]
    assert [offender for offender in offenders if offender not in LAZY_REEXPORTS] == []
