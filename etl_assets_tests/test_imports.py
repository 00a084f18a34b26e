"""Every module of the package imports first in a fresh interpreter, and its imports run one way (no cycle).

The fresh imports share one process (`import_each_module.py`): it imports the package's third-party libraries
(never the package itself), then forks one child per module, one per core at a time, so each module is the first
of the package its child imports without paying for Dagster, pyarrow and DuckDB again.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import etl_assets

PACKAGE_DIR = Path(etl_assets.__file__).parent
PACKAGE = PACKAGE_DIR.name
REPO = PACKAGE_DIR.parent

IMPORT_SERVER = Path(__file__).with_name("import_each_module.py")


def package_modules(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Dotted module name → file, for every .py file under the package folder."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """Every module `module` imports, at any depth of its code (functions, TYPE_CHECKING blocks too).

    `from package import name` counts as importing `package.name` when that is a module, else `package`.
    """
    known = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return names


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{parent}.{node.module}" if node.module else parent


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module → the package's modules importing it runs, the packages around an imported module included.

    Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first, unless the importer is inside them already.
    """
    modules = package_modules(package_dir)
    graph = {}
    for name, path in modules.items():
        imported = imported_names(name, path, modules) & modules.keys()
        around = {package for module in imported for package in _packages_around(module) if package in modules}
        graph[name] = {module for module in imported | around if not _inside(name, module)}
    return graph


def _packages_around(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _inside(module: str, package: str) -> bool:
    """Whether `package` is `module` or one of the packages it is in (so it is importing already)."""
    return module == package or module.startswith(package + ".")


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other (directly or round a loop), each sorted."""
    groups, seen = [], set()
    for start in sorted(graph):
        if start in seen or not _shortest_cycle(graph, start):
            continue
        group = _reachable(graph, start) & _reaching(graph, start)
        groups.append(sorted(group))
        seen.update(group)
    return groups


def describe_cycle(graph: dict[str, set[str]], group: list[str]) -> str:
    """The group, and one shortest loop through its first module as an example."""
    loop = " -> ".join(_shortest_cycle(graph, group[0]))
    return f"{', '.join(group)} import each other, e.g. {loop}"


def _shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str] | None:
    paths, visited = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for target in sorted(graph[path[-1]]):
            if target == start:
                return [*path, start]
            if target not in visited:
                visited.add(target)
                paths.append([*path, target])
    return None


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    found, todo = {start}, [start]
    while todo:
        for target in graph[todo.pop()] - found:
            found.add(target)
            todo.append(target)
    return found


def _reaching(graph: dict[str, set[str]], start: str) -> set[str]:
    reverse = {name: {source for source, targets in graph.items() if name in targets} for name in graph}
    return _reachable(reverse, start)


def third_party_imports() -> list[str]:
    """The modules outside the package that the package imports at module level, for the server to load once."""
    names = set()
    for path in package_modules().values():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module)
    return sorted(name for name in names if name.split(".")[0] not in (PACKAGE, "__future__"))


@pytest.fixture(scope="module")
def fresh_imports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Each module's exit code and stderr when imported first, each with an ETL_ASSETS_HOME that must stay absent."""
    root = tmp_path_factory.mktemp("fresh-imports")
    for folder in ("stderr", "homes", "tmp"):
        (root / folder).mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(ETL_ASSETS_CONFIG=str(REPO / "etl_config.yaml"), TMPDIR=str(root / "tmp"))
    request = {
        "preload": third_party_imports(),
        "modules": list(package_modules()),
        "workers": os.cpu_count() or 1,
        "err_dir": str(root / "stderr"),
        "homes_dir": str(root / "homes"),
    }
    server = subprocess.run(
        [sys.executable, str(IMPORT_SERVER)],
        input=json.dumps(request),
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert server.returncode == 0, server.stderr
    return json.loads(server.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("module", list(package_modules()))
def test_module_imports_first_in_a_fresh_interpreter(fresh_imports: dict[str, dict], module: str):
    result = fresh_imports[module]

    assert result == {"exit": 0, "stderr": ""}, result["stderr"]


def test_the_package_imports_run_one_way():
    graph = import_graph()

    cycles = import_cycles(graph)

    assert not cycles, "\n".join(describe_cycle(graph, group) for group in cycles)


def test_the_scan_sees_relative_function_level_and_package_imports(tmp_path: Path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .a import A\n")
    (package / "sub" / "a.py").write_text("def make():\n    from ..b import B\n    return B\n\n\nA = 1\n")
    (package / "sub" / "c.py").write_text("from pkg.sub import a\n")
    (package / "b.py").write_text("import pkg.sub.c\n\nB = 2\n")

    graph = import_graph(package)

    assert graph == {
        "pkg": set(),
        "pkg.b": {"pkg.sub", "pkg.sub.c"},
        "pkg.sub": {"pkg.sub.a"},
        "pkg.sub.a": {"pkg.b"},
        "pkg.sub.c": {"pkg.sub.a"},
    }
    assert import_cycles(graph) == [["pkg.b", "pkg.sub", "pkg.sub.a", "pkg.sub.c"]]
    assert describe_cycle(graph, ["pkg.b", "pkg.sub", "pkg.sub.a"]).endswith("pkg.b -> pkg.sub -> pkg.sub.a -> pkg.b")
