"""The AST policy every LLM-generated ETL script must pass before it is ever run.

A generated script's contract is narrow (docs/architecture.md §7): read its --input Parquet files, write its --output
Parquet files, report row counts through Dagster Pipes. So the policy allow-lists the modules such a script needs and
refuses the usual ways out of a Python process: other modules (os, sys, subprocess, socket, ...), the same modules
reached through an allowed one's attributes (`np.os.system`), code run from text (`exec`, `eval`, `__import__`),
introspection escapes (`x.__class__.__subclasses__()`, `getattr(x, name)`), files other than the contract's paths, and
URLs handed to pandas, pyarrow or DuckDB readers and writers.

It guards what a model wrote; the template's scripts are our own reviewed code and use the standard library's
os, sys and tempfile for their atomic writes and spill folder, which a model's script is not trusted with.
It is a static first check, not a sandbox: it does not read SQL text, follow values through variables or know every
library function that touches a file (`pd.read_parquet("/etc/x")` passes), so a script that passes still runs through
`sandbox.py`. The `io` module is refused only by the import allow-list, not as a name:
`pandas.io` is the pandas package scripts legitimately use, and `io.open` reached through it is caught by the open rule.
Call-only builtins `input` and `memoryview` are allowed: `input` is a natural variable name in a script with --input.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

ALLOWED_MODULES: frozenset[str] = frozenset(
    {
        "pandas",
        "pyarrow",
        "duckdb",
        "numpy",
        "re",
        "datetime",
        "decimal",
        "math",
        "json",
        "dagster_pipes",
        "argparse",
        "typing",
        "__future__",
    }
)

# Refused as an import, a bare name or an attribute: the modules that reach the system, the network or other code.
FORBIDDEN_MODULES: frozenset[str] = frozenset(
    {
        "os",
        "sys",
        "subprocess",
        "socket",
        "ctypes",
        "importlib",
        "pickle",
        "shutil",
        "builtins",
        "marshal",
        "multiprocessing",
        "threading",
        "signal",
        "pathlib",
        "urllib",
        "http",
        "requests",
    }
)

# Builtins that run or inspect code given as data; refused wherever they are named, so aliasing (`e = eval`) is caught.
FORBIDDEN_BUILTINS: dict[str, str] = {
    "exec": "it runs code given as text",
    "eval": "it runs code given as text",
    "compile": "it builds code from text",
    "__import__": "it imports any module by name",
    "globals": "it exposes the module's namespace",
    "locals": "it exposes a namespace",
    "vars": "it exposes an object's namespace",
    "breakpoint": "it starts a debugger",
    "help": "it imports modules by name and may start a pager program",
}

ATTRIBUTE_BUILTINS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
# Builtins allowed only as a direct call, whose arguments the policy checks (`o = open` would slip past).
_CHECKED_CALLS = ATTRIBUTE_BUILTINS | {"open"}

# `open(...)` is allowed only on the contract's paths: an attribute `<anything>.input` / `<anything>.output`
# (args.input, args.output) or one of these plain names; the same holds for any `<module>.open(...)`.
CONTRACT_PATH_ATTRIBUTES = frozenset({"input", "output"})
CONTRACT_PATH_NAMES = frozenset({"input_path", "output_path"})

# Bare double-underscore names a script may read; every other (`__builtins__`, `__loader__`, ...) is refused.
ALLOWED_DUNDER_NAMES = frozenset({"__name__", "__file__", "__doc__"})

_PROCESSES = "it starts or signals other processes"
_ENVIRONMENT = "it reads or changes environment variables"
_NATIVE = "it loads native code"
_FRAMES = "it reaches a frame's namespace, and through it any module"

# Attributes refused on anything: how os, sys, subprocess and ctypes are reached through an allowed module
# (`pd.io.common.os.system`), plus the pandas/DuckDB calls that unpickle, run programs or load native code.
REACH_THROUGH: dict[str, str] = {
    **dict.fromkeys(
        [
            "system", "popen", "fork", "forkpty", "kill", "killpg", "Popen", "check_output", "check_call",
            "getoutput", "getstatusoutput", "posix_spawn", "posix_spawnp",
            "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
            "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
        ],
        _PROCESSES,
    ),
    **dict.fromkeys(["environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"], _ENVIRONMENT),
    "modules": "it reaches every loaded module",
    **dict.fromkeys(
        ["load_library", "LoadLibrary", "CDLL", "PyDLL", "WinDLL", "OleDLL", "cdll", "pydll", "windll", "oledll",
         "dlopen", "ctypeslib"],
        _NATIVE,
    ),
    **dict.fromkeys(
        ["f_globals", "f_locals", "f_builtins", "f_back", "gi_frame", "cr_frame", "ag_frame", "tb_frame"], _FRAMES
    ),
    "read_pickle": "unpickling runs arbitrary code",
    "install_extension": "DuckDB extensions are native code, some reaching the network; Parquet needs none",
    "load_extension": "DuckDB extensions are native code, some reaching the network; Parquet needs none",
    **dict.fromkeys(
        ["read_clipboard", "to_clipboard", "clipboard", "clipboards"],
        "the clipboard is reached by starting another program",
    ),
    **dict.fromkeys(["distutils", "f2py"], "it compiles and runs other programs"),
}

# Readers and writers refused a literal URL argument (http://, https://, s3://, any scheme://): a script's data
# comes from its --input file only. Kept to pandas', pyarrow's and DuckDB's usual file functions; SQL text is not read.
URL_FUNCTIONS = frozenset(
    {
        "read_csv", "read_json", "read_html", "read_sql", "read_sql_query", "read_sql_table", "read_xml",
        "read_excel", "read_parquet", "read_feather", "read_orc", "read_fwf", "read_table", "from_csv_auto",
        "from_parquet", "to_pickle", "to_csv", "to_json", "to_parquet", "write_table",
    }
)
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Violation:
    """One thing the policy refuses; `message` starts with "line N: " so it reads on its own in a log or a prompt."""

    line: int
    rule: str
    message: str


def check_policy(code: str) -> list[Violation]:
    """Every violation in `code`, sorted by line (then column), each distinct one once (`os` used three times on a
    line is one violation); an empty list means the script may run."""
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        line = error.lineno or 1  # None for null bytes, which stop the parser before any line
        return [Violation(line, "syntax", f"line {line}: the code does not parse: {error.msg}")]
    checker = _Checker()
    checker.visit(tree)
    ordered = [violation for _, _, violation in sorted(checker.found, key=lambda found: found[:2])]
    return list(dict.fromkeys(ordered))


def describe(violations: list[Violation]) -> str:
    """The violations as repair feedback for the model: one per line, each "line N: message"."""
    return "\n".join(violation.message for violation in violations)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _attribute_reason(name: str) -> str | None:
    """Why the attribute `name` is refused on any object, or None when it is fine."""
    if _is_dunder(name):
        return "double-underscore attributes reach Python's internals"
    if name in FORBIDDEN_MODULES:
        return f"it reaches the module {name}"
    return REACH_THROUGH.get(name)


class _Checker(ast.NodeVisitor):
    """Walks the tree once, collecting (line, column, violation)."""

    def __init__(self) -> None:
        self.found: list[tuple[int, int, Violation]] = []
        self._called_directly: set[int] = set()  # ids of Name nodes that are the function of a call

    def _flag(self, node: ast.AST, rule: str, text: str) -> None:
        line, column = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        self.found.append((line, column, Violation(line, rule, f"line {line}: {text}")))

    # imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            dotted = "." * node.level + (node.module or "")
            text = f"the relative import from '{dotted}' is not allowed; import allowed modules by name"
            self._flag(node, "import", text)
            return
        module = node.module or ""
        if not self._check_module(node, module):
            return
        for alias in node.names:
            if alias.name == "*":
                self._flag(node, "import", f"'from {module} import *' is not allowed; import the names the script uses")
                continue
            reason = _attribute_reason(alias.name)
            if reason:
                self._flag(node, "import", f"import of '{module}.{alias.name}' is not allowed: {reason}")

    def _check_module(self, node: ast.AST, dotted: str) -> bool:
        """Flag `dotted` unless an allowed module or a harmless submodule of one; True when it is allowed."""
        parts = dotted.split(".")
        if parts[0] not in ALLOWED_MODULES:
            allowed = ", ".join(sorted(ALLOWED_MODULES - {"__future__"}))
            text = f"import of '{dotted}' is not allowed; only {allowed} (and their submodules) may be imported"
            self._flag(node, "import", text)
            return False
        for part in parts[1:]:
            reason = _attribute_reason(part)
            if reason:
                self._flag(node, "import", f"import of '{dotted}' is not allowed: {reason}")
                return False
        return True

    # names and attributes

    def visit_Name(self, node: ast.Name) -> None:
        name, loaded = node.id, isinstance(node.ctx, ast.Load)
        if name in FORBIDDEN_BUILTINS and loaded:
            self._flag(node, "call", f"'{name}' is not allowed: {FORBIDDEN_BUILTINS[name]}")
        elif name in _CHECKED_CALLS and loaded and id(node) not in self._called_directly:
            self._flag(node, "call", f"'{name}' may only be called directly, so the policy can check its arguments")
        elif name in FORBIDDEN_MODULES:
            text = f"the name '{name}' is not allowed: it names the module {name}, which a script may not use"
            self._flag(node, "name", text)
        elif loaded and _is_dunder(name) and name not in ALLOWED_DUNDER_NAMES:
            text = f"the name '{name}' is not allowed: double-underscore names reach Python's internals"
            self._flag(node, "name", text)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        reason = _attribute_reason(node.attr)
        if reason:
            self._flag(node, "attribute", f"the attribute '{node.attr}' is not allowed: {reason}")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and _is_dunder(key.value):
            text = f"the key '{key.value}' is not allowed: double-underscore keys reach Python's internals"
            self._flag(node, "attribute", text)
        self.generic_visit(node)

    # calls

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = ""
        if isinstance(function, ast.Attribute):
            name = function.attr
        elif isinstance(function, ast.Name):
            name = function.id
            if name in _CHECKED_CALLS:
                self._called_directly.add(id(function))
        if name in ATTRIBUTE_BUILTINS and isinstance(function, ast.Name):
            self._check_attribute_builtin(node, name)
        if name == "open":
            self._check_open(node)
        if name in URL_FUNCTIONS:
            self._check_urls(node, name)
        if name in ("format", "format_map") and isinstance(function, ast.Attribute):
            self._check_format(node, function.value)
        for keyword in node.keywords:
            literal_false = isinstance(keyword.value, ast.Constant) and not keyword.value.value
            if keyword.arg == "allow_pickle" and not literal_false:
                self._flag(keyword.value, "call", "allow_pickle is not allowed: unpickling runs arbitrary code")
        self.generic_visit(node)

    def _check_attribute_builtin(self, node: ast.Call, builtin: str) -> None:
        """getattr & co. only with a literal, public, harmless name: a computed one would defeat the attribute rules."""
        attribute = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(attribute, ast.Constant) and isinstance(attribute.value, str)):
            text = f"{builtin}() with a computed attribute name is not allowed; write the attribute out"
            self._flag(node, "call", text)
            return
        if attribute.value.startswith("_"):
            self._flag(node, "call", f"{builtin}() of the private attribute '{attribute.value}' is not allowed")
            return
        reason = _attribute_reason(attribute.value)
        if reason:
            self._flag(node, "call", f"{builtin}() of '{attribute.value}' is not allowed: {reason}")

    def _check_open(self, node: ast.Call) -> None:
        path = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "file"), None)
        if isinstance(path, ast.Attribute) and path.attr in CONTRACT_PATH_ATTRIBUTES:
            return
        if isinstance(path, ast.Name) and path.id in CONTRACT_PATH_NAMES:
            return
        if path is None:
            what = "no path"
        else:
            what = repr(path.value) if isinstance(path, ast.Constant) else f"'{ast.unparse(path)}'"
        self._flag(
            node,
            "call",
            f"open() of {what} is not allowed; a script may open only its --input and --output paths "
            "(args.input, args.output, input_path, output_path)",
        )

    def _check_urls(self, node: ast.Call, name: str) -> None:
        for value in [*node.args, *(keyword.value for keyword in node.keywords)]:
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and URL.match(value.value):
                text = f"{name}() of the URL '{value.value}' is not allowed; a script uses only its --input/--output"
                self._flag(node, "call", text)
                return

    def _check_format(self, node: ast.Call, template: ast.expr) -> None:
        """`"{0.__class__}".format(x)` reads attributes the attribute rule never sees."""
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            return
        for part in _format_lookups(template.value):
            reason = "names starting with '_' are internals" if part.startswith("_") else _attribute_reason(part)
            if reason:
                text = f"the format string {template.value!r} reads '{part}', which is not allowed: {reason}"
                self._flag(node, "attribute", text)
                return


def _format_lookups(text: str) -> Iterator[str]:
    """The attribute names and index keys a str.format template looks up, nested format specs included."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return  # the template would fail before it reads anything
    for _, field, spec, _ in parsed:
        if field:
            yield from re.findall(r"[.\[]([^.\[\]]+)", field)
        if spec:
            yield from _format_lookups(spec)
