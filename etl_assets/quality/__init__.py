"""Quality rules: evaluated per window in DuckDB, quarantine, and validation of the rules themselves."""
