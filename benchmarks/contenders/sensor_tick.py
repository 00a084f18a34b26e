"""One tick of the orders upload sensor over the landing zone, with the cursor of an earlier tick.

    python benchmarks/contenders/sensor_tick.py [CURSOR_FILE]

Prints `TICK seconds run_requests` for the tick alone (the process's own start-up is the harness's wall time),
and writes the tick's cursor to CURSOR_FILE.
"""

import sys
import time
from pathlib import Path

import dagster as dg

from etl_assets.definitions import defs

cursor_file = Path(sys.argv[1])
sensor = defs.resolve_sensor_def("orders_uploads")
cursor = cursor_file.read_text() if cursor_file.exists() else None
resources = {"landing_zones": defs.resources["landing_zones"], "project": defs.resources["project"]}
with dg.instance_for_test() as instance, dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources) as context:
    started = time.perf_counter()
    result = sensor(context)
    seconds = time.perf_counter() - started
cursor_file.write_text(result.cursor or "")
print("TICK", seconds, len(result.run_requests or []))
