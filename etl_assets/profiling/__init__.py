"""The profile stage: a DuckDB profile per window, drift between windows, and the HTML report."""
