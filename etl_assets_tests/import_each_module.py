"""Import each module of the package first, in a child forked from a process that has none of the package loaded.

Reads a JSON request on stdin: `preload` (third-party modules to import once, before forking), `modules`,
`workers` (children at a time), `err_dir` (a child's stderr goes to a file named after its module) and `homes_dir`
(each child's ETL_ASSETS_HOME, which must not exist after the import). Writes {module: {"exit", "stderr"}} to
stdout. A child fails when the import raises, warns, leaves a child process behind or creates its home.
"""

import importlib
import json
import os
import sys
import traceback
import warnings


def preload(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # the package module that imports it reports the error


def import_in_child(module: str, err_path: str, home: str) -> None:
    """Runs in the forked child: import `module`, report on stderr, and exit without returning."""
    os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    os.environ.update(ETL_ASSETS_HOME=home, DAGSTER_HOME=os.path.join(home, "dagster"))
    try:
        importlib.import_module(module)
        problems = side_effects(home)
    except BaseException:
        traceback.print_exc()
        problems = ["the import raised"]
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.stderr.flush()
    os._exit(1 if problems else 0)


def side_effects(home: str) -> list[str]:
    problems = []
    try:
        os.waitpid(-1, os.WNOHANG)
        problems.append("importing it started a process")
    except ChildProcessError:
        pass  # no child process, running or ended
    if os.path.exists(home):
        problems.append("importing it wrote under ETL_ASSETS_HOME")
    return problems


def import_each(request: dict) -> dict[str, dict]:
    results, running, waiting = {}, {}, list(request["modules"])
    while waiting or running:
        while waiting and len(running) < request["workers"]:
            module = waiting.pop(0)
            err_path = os.path.join(request["err_dir"], module)
            pid = os.fork()
            if pid == 0:
                import_in_child(module, err_path, os.path.join(request["homes_dir"], module))
            running[pid] = (module, err_path)
        pid, status = os.wait()
        module, err_path = running.pop(pid)
        with open(err_path) as err:
            results[module] = {"exit": os.waitstatus_to_exitcode(status), "stderr": err.read()}
    return results


def main() -> None:
    request = json.load(sys.stdin)
    # Dagster's notes on its own beta and preview parameters; pytest ignores them as well
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
    preload(request["preload"])
    json.dump(import_each(request), sys.stdout)


if __name__ == "__main__":
    main()
