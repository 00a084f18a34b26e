"""The AST policy for generated scripts: hostile code is refused at its line, a realistic script passes."""

from __future__ import annotations


import pytest

from etl_assets.scriptgen.policy import ALLOWED_MODULES, Violation, check_policy, describe

GOOD_SCRIPT = '''\
"""Clean one orders window: lower-case emails, net amounts, latest row per order."""

from __future__ import annotations

import argparse
import json
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster_pipes import open_dagster_pipes


class Counter:
    def __init__(self) -> None:
        self.rows = 0


def transform(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["email"] = frame["email"].str.strip().str.lower()
    frame["net"] = frame["gross"].fillna(0) - frame["discount"].fillna(0)
    frame["big"] = np.where(frame["net"] > 100, True, False)
    frame["example"] = frame["email"].map(lambda value: isinstance(value, str) and value.endswith("@example.com"))
    return frame.drop_duplicates(subset=["order_id"], keep="last")


def row_count(path: Any) -> int:
    with duckdb.connect(":memory:") as connection:
        connection.execute("SET enable_external_access = false")
        return pq.ParquetFile(path).metadata.num_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", action="append", required=True)
    parser.add_argument("--output", action="append", required=True)
    parser.add_argument("--window", action="append", default=[])
    args = parser.parse_args()
    with open_dagster_pipes() as pipes:
        for window, input_path, output_path in zip(args.window or [None] * len(args.input), args.input, args.output):
            with open(input_path, "rb") as handle:
                frame = pd.read_parquet(handle)
            result = transform(frame)
            result.to_parquet(output_path, index=False)
            counts = {"rows_in": len(frame), "rows_out": len(result), "window": window}
            counts["null_emails"] = pc.sum(pc.is_null(pa.array(result["email"]))).as_py()
            pipes.report_custom_message(counts)
            pipes.log.info(json.dumps(counts) + getattr(pipes, "extras", ""))


if __name__ == "__main__":
    main()
'''

HOSTILE = [
    pytest.param('os.system("id")', {(1, "name"), (1, "attribute")}, id="os.system"),
    pytest.param("__import__('subprocess').run(['id'])", {(1, "call")}, id="__import__"),
    pytest.param('exec("print(1)")', {(1, "call")}, id="exec"),
    pytest.param('eval("1+1")', {(1, "call")}, id="eval"),
    pytest.param("open('/etc/passwd').read()", {(1, "call")}, id="open-passwd"),
    pytest.param("open('/proc/self/environ').read()", {(1, "call")}, id="open-environ"),
    pytest.param("import os; print(os.environ)", {(1, "import"), (1, "name"), (1, "attribute")}, id="os.environ"),
    pytest.param(
        'import socket\nsocket.create_connection(("example.com", 80))', {(1, "import"), (2, "name")}, id="socket"
    ),
    pytest.param("import pandas as pd\ngetattr(pd, '__builtins__')", {(2, "call")}, id="getattr-dunder"),
    pytest.param("import pandas as pd\nname = 'read_csv'\ngetattr(pd, name)", {(3, "call")}, id="getattr-variable"),
    pytest.param("import pandas as pd\npd.__class__.__subclasses__()", {(2, "attribute")}, id="subclasses"),
    pytest.param("import ctypes", {(1, "import")}, id="ctypes"),
    pytest.param("from importlib import import_module", {(1, "import")}, id="importlib"),
    pytest.param("import pickle", {(1, "import")}, id="pickle"),
    pytest.param("from . import x", {(1, "import")}, id="relative"),
    pytest.param("import subprocess as sp", {(1, "import")}, id="subprocess-as"),
    pytest.param("x = 1\nif x print(x)\n", {(2, "syntax")}, id="syntax"),
    pytest.param("import numpy as np\n\nnp.os.system('id')", {(3, "attribute")}, id="reach-through"),
]


def _seen(code: str) -> set[tuple[int, str]]:
    return {(violation.line, violation.rule) for violation in check_policy(code)}


@pytest.mark.parametrize(("code", "expected"), HOSTILE)
def test_hostile_snippet_is_refused_at_its_line(code: str, expected: set[tuple[int, str]]) -> None:
    assert _seen(code) == expected


def test_realistic_pandas_script_passes() -> None:
    assert check_policy(GOOD_SCRIPT) == []


@pytest.mark.parametrize(
    "code",
    [
        (
            "import pyarrow.parquet as pq\nimport argparse\np = argparse.ArgumentParser()\nargs = p.parse_args()\n"
            "handle = open(args.output, 'wb')"
        ),
        "from decimal import Decimal\nimport math, re, datetime\nfrom datetime import date as d\nx = math.floor(1.5)",
        "global counter\ncounter = 0\nf = lambda value: value + 1",
        "import duckdb\nduckdb.sql('SELECT 1').fetchall()\nduckdb.connect().execute('SELECT 1')",
        "if __name__ == '__main__':\n    print(__file__)",
        "class Frame:\n    __slots__ = ('rows',)",
        "input = 'in.parquet'\noutput_path = input",
    ],
)
def test_ordinary_code_passes(code: str) -> None:
    assert check_policy(code) == []


@pytest.mark.parametrize(
    ("code", "rule", "named"),
    [
        ("import pandas.io.common as common\ncommon.os", "attribute", "os"),
        ("from pandas.io.common import os", "import", "pandas.io.common.os"),
        ("import numpy.ctypeslib", "import", "numpy.ctypeslib"),
        ("from pandas import *", "import", "from pandas import *"),
        ("import json\njson.codecs.open('/etc/passwd')", "call", "'/etc/passwd'"),
        ("import pandas as pd\npd.read_csv('https://example.com/x.csv')", "call", "https://example.com/x.csv"),
        ("import pandas as pd\npd.DataFrame().to_parquet(path='s3://bucket/x')", "call", "s3://bucket/x"),
        ("import pandas as pd\npd.read_pickle(args.input)", "attribute", "read_pickle"),
        ("import numpy as np\nnp.load(args.input, allow_pickle=True)", "call", "allow_pickle"),
        ("import duckdb\nduckdb.connect().install_extension('httpfs')", "attribute", "install_extension"),
        ("e = eval", "call", "eval"),
        ("g = getattr", "call", "getattr"),
        ("setattr(x, '_hidden', 1)", "call", "_hidden"),
        ("hasattr(x, 'system')", "call", "system"),
        ("path = args.input + '/../secret'\nopen(path)", "call", "path"),
        ("frames = (x for x in [])\nframes.gi_frame", "attribute", "gi_frame"),
        ("print(__builtins__)", "name", "__builtins__"),
        ("def f(): pass\nf.__globals__", "attribute", "__globals__"),
        ("namespace = {}\nnamespace['__builtins__']", "attribute", "__builtins__"),
        ("'{0.__class__.__mro__}'.format(1)", "attribute", "__class__"),
        ("import pandas as pd\npd.io.common.sys.modules", "attribute", "modules"),
        ("help('modules')", "call", "help"),
        ("breakpoint()", "call", "breakpoint"),
        ("import pandas as pd\npd.io.clipboard.paste()", "attribute", "clipboard"),
        ("vars(x)", "call", "vars"),
    ],
)
def test_other_escapes_are_refused_naming_the_thing(code: str, rule: str, named: str) -> None:
    violations = check_policy(code)

    last_line = code.count("\n") + 1
    assert any(v.rule == rule and v.line == last_line and named in v.message for v in violations), violations


def test_every_violation_is_reported_sorted_by_line() -> None:
    code = "import pandas as pd\nimport os\n\nx = eval('1')\nimport pickle\nopen('/etc/passwd')\n"

    violations = check_policy(code)

    assert [(v.line, v.rule) for v in violations] == [(2, "import"), (4, "call"), (5, "import"), (6, "call")]
    assert violations == sorted(violations, key=lambda v: v.line)


def test_the_same_violation_twice_on_one_line_is_reported_once() -> None:
    violations = check_policy("import numpy as np\nnp.os.getpid(), np.os.getpid()\n")

    assert [v.message for v in violations] == ["line 2: the attribute 'os' is not allowed: it reaches the module os"]


def test_messages_name_the_thing_and_the_allowed_modules() -> None:
    (violation,) = check_policy("import json\n\nimport os\n")

    assert violation == Violation(
        3,
        "import",
        "line 3: import of 'os' is not allowed; only argparse, dagster_pipes, datetime, decimal, duckdb, json, math, "
        "numpy, pandas, pyarrow, re, typing (and their submodules) may be imported",
    )


def test_syntax_error_is_one_violation_at_the_error_line() -> None:
    expected = Violation(1, "syntax", "line 1: the code does not parse: '(' was never closed")
    assert check_policy("x = (\n\n") == [expected]
    assert [v.rule for v in check_policy("a = 1\x00")] == ["syntax"]


def test_describe_gives_one_line_per_violation() -> None:
    violations = check_policy("exec('1')\nimport socket\n")

    assert describe(violations) == (
        "line 1: 'exec' is not allowed: it runs code given as text\n"
        "line 2: import of 'socket' is not allowed; only argparse, dagster_pipes, datetime, decimal, duckdb, json, "
        "math, numpy, pandas, pyarrow, re, typing (and their submodules) may be imported"
    )
    assert describe([]) == ""


def test_allowed_modules_are_the_documented_list() -> None:
    assert ALLOWED_MODULES == {
        "pandas", "pyarrow", "duckdb", "numpy", "re", "datetime", "decimal", "math", "json", "dagster_pipes",
        "argparse", "typing", "__future__",
    }
