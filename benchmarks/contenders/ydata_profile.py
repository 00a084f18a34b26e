"""ydata-profiling, minimal: pandas reads the CSV, then the minimal report is computed (as JSON, no HTML).

    .venv-bench/bin/python benchmarks/contenders/ydata_profile.py ORDERS.csv
"""

import sys

import pandas as pd
from ydata_profiling import ProfileReport

frame = pd.read_csv(sys.argv[1])
ProfileReport(frame, minimal=True, progress_bar=False).to_json()
print("ROWS", len(frame))
